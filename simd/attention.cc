#include "simd/attention.h"

#include <algorithm>
#include <cmath>

#include "simd/activation.h"
#include "simd/matmul.h"

namespace dsv4::simd {

void shared_kv_attention(const float* q, int64_t n_heads, int64_t dim, const float* keys,
                         int64_t n_keys, const float* sinks, float scale, float* scores,
                         float* out) {
  if (n_keys > 0) {
    // A block of heads whose queries stay in L1 (16 × 512 f32 = 32 KiB) while the keys stream
    // past them; the whole set of queries would be re-read from L2 for every four keys.
    // Results do not depend on the blocking.
    constexpr int64_t kHeadBlock = 16;
    const MatrixView k = make_matrix(TensorType::F32, keys, n_keys, dim);
    for (int64_t h0 = 0; h0 < n_heads; h0 += kHeadBlock)
      matmul(k, q + h0 * dim, dim, std::min(kHeadBlock, n_heads - h0), scores + h0 * n_keys, n_keys,
             0, n_keys);
  }
  for (int64_t h = 0; h < n_heads; ++h) {
    float* s = scores + h * n_keys;
    float mx = sinks[h];
    for (int64_t i = 0; i < n_keys; ++i) {
      s[i] *= scale;
      mx = std::max(mx, s[i]);
    }
    const float den = exp_shifted_sum(s, n_keys, mx) + std::exp(sinks[h] - mx);
    // Normalising the weights first costs n divisions instead of dim; the sum of weighted rows
    // is then the head output directly.
    const float inv = 1.0f / den;
    for (int64_t i = 0; i < n_keys; ++i) s[i] *= inv;
  }
  weighted_row_sum(scores, n_heads, keys, n_keys, dim, out);
}

}  // namespace dsv4::simd
