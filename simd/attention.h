// Attention of several query heads over one shared set of rows used as both keys and values
// (a single KV head), with a per-head sink logit that joins the softmax denominator only.
#pragma once

#include <cstdint>

namespace dsv4::simd {

// For each head h: s_i = (q_h · k_i) · scale; m = max(sink_h, max_i s_i);
// out_h = Σ_i e^(s_i − m) k_i / (e^(sink_h − m) + Σ_i e^(s_i − m)).
// q: n_heads × dim; keys: n_keys × dim (f32); scores: scratch of n_heads × n_keys.
// Heads are independent: callers may split them across tasks.
void shared_kv_attention(const float* q, int64_t n_heads, int64_t dim, const float* keys,
                         int64_t n_keys, const float* sinks, float scale, float* scores,
                         float* out);

// out[h] = Σ_i weights[h · n_rows + i] · rows[i] for h < n_heads (vectorised, fixed order).
void weighted_row_sum(const float* weights, int64_t n_heads, const float* rows, int64_t n_rows,
                      int64_t dim, float* out);

}  // namespace dsv4::simd
