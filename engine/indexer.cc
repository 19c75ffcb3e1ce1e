#include "engine/indexer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "simd/matmul.h"
#include "simd/ops.h"

namespace dsv4::engine {

void indexer_select(const ModelConfig& c, const RopeTable& rope, int64_t pos, const float* queries,
                    const float* weights, const RowStore& keys, int64_t n_visible,
                    IndexerScratch& s, std::vector<int32_t>& selected) {
  const int H = c.indexer_heads, D = c.indexer_dim;
  s.queries.assign(queries, queries + static_cast<size_t>(H) * D);
  for (int h = 0; h < H; ++h) {
    float* q = s.queries.data() + static_cast<size_t>(h) * D;
    rope.rotate(q + (D - c.rope_dim), pos);
    simd::hadamard_transform(q, D);
    simd::simulate_fp4_e2m1(q, D, 32);
  }
  s.keys.resize(static_cast<size_t>(n_visible) * D);
  for (int64_t i = 0; i < n_visible; ++i) keys.read(i, s.keys.data() + i * D);
  s.head_scores.resize(static_cast<size_t>(H) * n_visible);
  const simd::MatrixView k = simd::make_matrix(simd::TensorType::F32, s.keys.data(), n_visible, D);
  simd::matmul(k, s.queries.data(), D, H, s.head_scores.data(), n_visible, 0, n_visible);

  const float head_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D) * H));
  s.totals.assign(static_cast<size_t>(n_visible), 0.0f);
  for (int h = 0; h < H; ++h) {
    const float w = weights[h] * head_scale;
    const float* hs = s.head_scores.data() + static_cast<size_t>(h) * n_visible;
    for (int64_t i = 0; i < n_visible; ++i)
      s.totals[static_cast<size_t>(i)] += std::max(hs[i], 0.0f) * w;
  }
  simd::top_k(s.totals.data(), n_visible, c.indexer_topk, selected);
  std::sort(selected.begin(), selected.end());
}

}  // namespace dsv4::engine
