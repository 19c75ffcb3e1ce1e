#include "simd/attention.h"

#include <algorithm>
#include <cmath>

#include "simd/matmul.h"

namespace dsv4::simd {

void shared_kv_attention(const float* q, int64_t n_heads, int64_t dim, const float* keys,
                         int64_t n_keys, const float* sinks, float scale, float* scores,
                         float* out) {
  if (n_keys > 0) {
    const MatrixView k = make_matrix(TensorType::F32, keys, n_keys, dim);
    matmul(k, q, dim, n_heads, scores, n_keys, 0, n_keys);
  }
  for (int64_t h = 0; h < n_heads; ++h) {
    float* s = scores + h * n_keys;
    float mx = sinks[h];
    for (int64_t i = 0; i < n_keys; ++i) {
      s[i] *= scale;
      mx = std::max(mx, s[i]);
    }
    float den = 0;
    for (int64_t i = 0; i < n_keys; ++i) {
      s[i] = std::exp(s[i] - mx);
      den += s[i];
    }
    den += std::exp(sinks[h] - mx);
    float* o = out + h * dim;
    std::fill(o, o + dim, 0.0f);
    for (int64_t i = 0; i < n_keys; ++i) {
      const float p = s[i];
      const float* k = keys + i * dim;
      for (int64_t d = 0; d < dim; ++d) o[d] += p * k[d];
    }
    for (int64_t d = 0; d < dim; ++d) o[d] /= den;
  }
}

}  // namespace dsv4::simd
