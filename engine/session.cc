#include "engine/session.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "engine/attention_layer.h"
#include "engine/hyper_connection.h"
#include "engine/moe_layer.h"
#include "engine/parallel.h"
#include "engine/projection.h"
#include "simd/ops.h"

namespace dsv4::engine {

Session::Session(const Model& model, const SessionOptions& options)
    : model_(model), options_(options) {
  if (options_.context <= 0) fail("context size must be positive");
  if (options_.chunk <= 0) fail("prefill chunk must be positive");
  const simd::TensorType rows =
      options_.precision == Precision::kRef ? simd::TensorType::F32 : simd::TensorType::F16;
  kv_.init(model.config(), options_.context, rows);
  scratch_.init(model.config(), options_.chunk, options_.context);
  scratch_.projection.init(options_.precision == Precision::kFast,
                           static_cast<int64_t>(model.config().hc_count) * model.config().hidden);
  last_logits_.assign(static_cast<size_t>(model.config().vocab), 0.0f);
  tokens_.reserve(static_cast<size_t>(options_.context));
}

void Session::reset() {
  kv_.reset();
  tokens_.clear();
  std::fill(last_logits_.begin(), last_logits_.end(), 0.0f);
}

void Session::save(SessionSnapshot& snapshot) const {
  snapshot.kv = kv_;
  snapshot.tokens = tokens_;
  snapshot.last_logits = last_logits_;
}

void Session::restore(const SessionSnapshot& snapshot) {
  if (snapshot.kv.context != kv_.context || snapshot.kv.layers.size() != kv_.layers.size())
    fail("session snapshot is for a different context or model");
  kv_ = snapshot.kv;
  tokens_ = snapshot.tokens;
  last_logits_ = snapshot.last_logits;
}

void Session::evaluate(std::span<const int32_t> tokens, float* all_logits) {
  const ModelConfig& c = model_.config();
  if (position() + static_cast<int64_t>(tokens.size()) > options_.context)
    fail("context of ", options_.context, " tokens exceeded: ", position(),
         " tokens in the session plus ", tokens.size(), " new");
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= c.vocab)
      fail("token id ", tokens[i], " at index ", i, " is outside the vocabulary of ", c.vocab);
  for (size_t first = 0; first < tokens.size(); first += static_cast<size_t>(options_.chunk)) {
    const int64_t n =
        std::min<int64_t>(options_.chunk, static_cast<int64_t>(tokens.size() - first));
    const bool last_chunk = first + static_cast<size_t>(n) == tokens.size();
    if (all_logits != nullptr) {
      evaluate_chunk(tokens.data() + first, n, all_logits + first * static_cast<size_t>(c.vocab),
                     HeadMode::kAll);
    } else {
      evaluate_chunk(tokens.data() + first, n, nullptr,
                     last_chunk ? HeadMode::kLast : HeadMode::kNone);
    }
  }
}

void Session::evaluate_chunk(const int32_t* tokens, int64_t n, float* logits, HeadMode head) {
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  ForwardScratch& s = scratch_;
  const int64_t D = c.hidden, hc = c.hc_count, pos0 = position();

  for (int64_t t = 0; t < n; ++t) {
    float* streams = s.streams.data() + t * hc * D;
    simd::decode_row(w.token_embd, tokens[t], streams);
    for (int64_t i = 1; i < hc; ++i) std::memcpy(streams + i * D, streams, D * sizeof(float));
  }
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = w.layers[static_cast<size_t>(l)];
    hc_pre(c, L.hc_attn, s.streams.data(), n, s.x.data(), s.post.data(), s.comb.data(),
           s.mixes.data(), s.projection);
    for_each_token(n, [&](int64_t t) {
      simd::rms_norm(s.x.data() + t * D, L.attn_norm.data(), D, c.norm_eps,
                     s.normed.data() + t * D);
    });
    attention_layer(model_, l, pos0, n, kv_.layers[static_cast<size_t>(l)], s);
    hc_post(c, s.y.data(), s.post.data(), s.comb.data(), n, s.streams.data());

    hc_pre(c, L.hc_ffn, s.streams.data(), n, s.x.data(), s.post.data(), s.comb.data(),
           s.mixes.data(), s.projection);
    for_each_token(n, [&](int64_t t) {
      simd::rms_norm(s.x.data() + t * D, L.ffn_norm.data(), D, c.norm_eps, s.normed.data() + t * D);
    });
    moe_layer(model_, l, tokens, n, s);
    hc_post(c, s.y.data(), s.post.data(), s.comb.data(), n, s.streams.data());
    if (observer_) observer_(l, pos0, n, s.streams.data());
  }
  tokens_.insert(tokens_.end(), tokens, tokens + n);

  if (head == HeadMode::kNone) return;
  // Output head: every token of the chunk, or only the last one.
  const bool all = head == HeadMode::kAll;
  const int64_t first = all ? 0 : n - 1;
  const int64_t count = n - first;
  hc_collapse(c, w.output_hc, s.streams.data() + first * hc * D, count, s.x.data(), s.mixes.data(),
              s.projection);
  for_each_token(count, [&](int64_t t) {
    simd::rms_norm(s.x.data() + t * D, w.output_norm.data(), D, c.norm_eps,
                   s.normed.data() + t * D);
  });
  if (all) {
    project(w.output, s.normed.data(), D, count, logits, c.vocab, s.projection);
    std::memcpy(last_logits_.data(), logits + (count - 1) * c.vocab,
                static_cast<size_t>(c.vocab) * sizeof(float));
  } else {
    project(w.output, s.normed.data(), D, 1, last_logits_.data(), c.vocab, s.projection);
  }
}

}  // namespace dsv4::engine
