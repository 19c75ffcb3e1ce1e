// A session: one sequence of tokens evaluated against a model, with its KV state. Tokens
// are evaluated in chunks (prefill) or one at a time (decode) with the same results: the
// matrix products are batch-invariant and everything order-dependent runs token by token.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/kv_state.h"
#include "engine/model.h"
#include "engine/scratch.h"

namespace dsv4::engine {

// A copy of a session's state in memory (KV state, tokens, last logits).
struct SessionSnapshot {
  KvState kv;
  std::vector<int32_t> tokens;
  std::vector<float> last_logits;
};

enum class Precision {
  kRef,   // f32 activations and caches, exact weights: the official reference's numerics
  kFast,  // f16 caches (and faster kernels where they stay within the accuracy bar)
};

struct SessionOptions {
  int64_t context = 4096;  // tokens the KV state is sized for
  int64_t chunk = 1024;    // tokens per prefill step (AMX and expert batching pay up to ~1024)
  Precision precision = Precision::kFast;
};

class Session {
 public:
  Session(const Model& model, const SessionOptions& options);

  // Appends `tokens` and evaluates them. With `all_logits` (tokens.size() × vocab floats) the
  // logits of every token are written; the last token's logits are always kept.
  void evaluate(std::span<const int32_t> tokens, float* all_logits = nullptr);
  void reset();
  // Copies the state into `snapshot` (reusing its buffers) and back. Restoring requires a
  // snapshot of a session with the same model and options.
  void save(SessionSnapshot& snapshot) const;
  void restore(const SessionSnapshot& snapshot);

  int64_t position() const { return static_cast<int64_t>(tokens_.size()); }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  std::span<const float> last_logits() const { return last_logits_; }
  const KvState& kv_state() const { return kv_; }
  const Model& model() const { return model_; }
  const SessionOptions& options() const { return options_; }

  // Called after each layer with the chunk's residual streams (n × hc × hidden), for
  // comparing hidden states with a reference.
  using LayerObserver =
      std::function<void(int layer, int64_t pos0, int64_t n, const float* streams)>;
  void set_layer_observer(LayerObserver observer) { observer_ = std::move(observer); }

 private:
  enum class HeadMode { kNone, kLast, kAll };
  void evaluate_chunk(const int32_t* tokens, int64_t n, float* logits, HeadMode head);

  const Model& model_;
  SessionOptions options_;
  KvState kv_;
  ForwardScratch scratch_;
  std::vector<int32_t> tokens_;
  std::vector<float> last_logits_;
  LayerObserver observer_;
};

}  // namespace dsv4::engine
