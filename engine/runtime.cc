#include "engine/runtime.h"

#include "base/system.h"
#include "simd/thread_scratch.h"

namespace dsv4::engine {

Runtime::Runtime(int threads)
    : threads_(threads > 0 ? threads : physical_core_count()), arena_(threads_), reserver_(arena_) {
  // The calling thread runs tasks too (arena_.execute) and may never pass on_scheduler_entry
  // before its first kernel.
  simd::reserve_thread_scratch();
}

Runtime::ScratchReserver::ScratchReserver(tbb::task_arena& arena)
    : tbb::task_scheduler_observer(arena) {
  observe(true);
}

Runtime::ScratchReserver::~ScratchReserver() {
  observe(false);
}

void Runtime::ScratchReserver::on_scheduler_entry(bool /*is_worker*/) {
  simd::reserve_thread_scratch();
}

}  // namespace dsv4::engine
