// Memory a session needs, planned before any work: the mapped weights, the KV state for the
// context, and the activation scratch for the prefill chunk. A context that does not fit
// is refused up front with the numbers, never discovered halfway through a prefill.
#pragma once

#include <cstdint>
#include <string>

#include "engine/model_config.h"
#include "engine/session.h"

namespace dsv4::engine {

struct MemoryPlan {
  uint64_t weights = 0;   // bytes of the model file's tensors (mapped, shared page cache)
  uint64_t kv_state = 0;  // KV rows, compressed rows and compressor frontiers
  uint64_t scratch = 0;   // activations of one prefill chunk and one token's attention
  uint64_t session_total() const { return kv_state + scratch; }
  std::string describe() const;
};

MemoryPlan plan_memory(const ModelConfig& config, uint64_t weight_bytes,
                       const SessionOptions& options);

// Throws when the session's own memory exceeds what the system can give now.
void require_memory_fits(const MemoryPlan& plan, int64_t context);

}  // namespace dsv4::engine
