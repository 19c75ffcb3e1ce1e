#include "engine/memory_plan.h"

#include <cstdio>

#include "base/error.h"
#include "base/system.h"
#include "engine/kv_state.h"
#include "engine/scratch.h"

namespace dsv4::engine {
namespace {

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1ull << 30));
  return buf;
}

}  // namespace

std::string MemoryPlan::describe() const {
  return "weights " + gib(weights) + " (mapped), KV state " + gib(kv_state) + ", scratch " +
         gib(scratch);
}

MemoryPlan plan_memory(const ModelConfig& config, uint64_t weight_bytes,
                       const SessionOptions& options) {
  MemoryPlan plan;
  plan.weights = weight_bytes;
  const simd::TensorType rows =
      options.precision == Precision::kRef ? simd::TensorType::F32 : simd::TensorType::F16;
  plan.kv_state = KvState::planned_bytes(config, options.context, rows);
  plan.scratch = ForwardScratch::planned_bytes(config, options.chunk, options.context);
  return plan;
}

void require_memory_fits(const MemoryPlan& plan, int64_t context) {
  const uint64_t available = available_memory_bytes();
  if (available != 0 && plan.session_total() > available)
    fail("a context of ", context, " tokens needs ", gib(plan.kv_state), " of KV state and ",
         gib(plan.scratch), " of scratch, but only ", gib(available), " of memory is available");
}

}  // namespace dsv4::engine
