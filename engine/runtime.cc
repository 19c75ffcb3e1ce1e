#include "engine/runtime.h"

#include "base/system.h"

namespace dsv4::engine {

Runtime::Runtime(int threads)
    : threads_(threads > 0 ? threads : physical_core_count()), arena_(threads_) {}

}  // namespace dsv4::engine
