#include "engine/indexer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "engine/parallel.h"
#include "simd/matmul.h"
#include "simd/ops.h"

namespace dsv4::engine {
namespace {

// ref: f32 products of the rows (simd::matmul), summed over heads in ascending order.
void f32_totals(int H, int D, const float* weights, float head_scale, const RowStore& keys,
                int64_t n_visible, IndexerScratch& s) {
  s.keys.resize(static_cast<size_t>(n_visible) * D);
  s.head_scores.resize(static_cast<size_t>(H) * n_visible);
  const simd::MatrixView k = simd::make_matrix(simd::TensorType::F32, s.keys.data(), n_visible, D);
  // Rows are scored independently, so ranges of rows go to separate tasks.
  parallel_ranges(n_visible, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) keys.read(i, s.keys.data() + i * D);
    simd::matmul(k, s.queries.data(), D, H, s.head_scores.data(), n_visible, r0, r1);
    for (int64_t i = r0; i < r1; ++i) {
      float total = 0.0f;
      for (int h = 0; h < H; ++h)
        total += std::max(s.head_scores[static_cast<size_t>(h * n_visible + i)], 0.0f) *
                 (weights[h] * head_scale);
      s.totals[static_cast<size_t>(i)] = total;
    }
  });
}

// fast: exact integer products of the FP4 codes (simd/indexer_int8.h), with the same f32
// head sum. Equal to f32_totals bit for bit whenever the exactness condition stated there
// holds, as it does for these Hadamard-rotated rows and queries.
void fp4_totals(int H, int D, const float* weights, float head_scale, const IndexKeys& keys,
                int64_t n_visible, IndexerScratch& s) {
  if (!simd::prepare_fp4_queries(s.queries.data(), H, D, s.fp4_queries))
    fail("indexer queries are not FP4-simulated");
  s.head_weights.resize(static_cast<size_t>(H));
  for (int h = 0; h < H; ++h) s.head_weights[static_cast<size_t>(h)] = weights[h] * head_scale;
  // Whole tiles of rows go to separate tasks, so no tile is prepared twice.
  const int64_t tiles = (n_visible + simd::kKeyTileRows - 1) / simd::kKeyTileRows;
  parallel_ranges(tiles, 16, [&](int64_t t0, int64_t t1) {
    simd::fp4_totals(s.fp4_queries, keys.tiles(), t0 * simd::kKeyTileRows,
                     std::min(t1 * simd::kKeyTileRows, n_visible), s.head_weights.data(),
                     s.totals.data());
  });
}

}  // namespace

void indexer_select(const ModelConfig& c, const RopeTable& rope, int64_t pos, const float* queries,
                    const float* weights, const IndexKeys& keys, int64_t n_visible,
                    IndexerScratch& s, std::vector<int32_t>& selected) {
  const int H = c.indexer_heads, D = c.indexer_dim;
  s.queries.assign(queries, queries + static_cast<size_t>(H) * D);
  rope.rotate_heads(s.queries.data() + (D - c.rope_dim), H, D, pos);
  for (int h = 0; h < H; ++h) {
    float* q = s.queries.data() + static_cast<size_t>(h) * D;
    simd::hadamard_transform(q, D);
    simd::simulate_fp4_e2m1(q, D, 32);
  }
  s.totals.resize(static_cast<size_t>(n_visible));
  const float head_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D) * H));
  if (keys.fp4())
    fp4_totals(H, D, weights, head_scale, keys, n_visible, s);
  else
    f32_totals(H, D, weights, head_scale, keys.rows(), n_visible, s);
  simd::top_k(s.totals.data(), n_visible, c.indexer_topk, selected);
  std::sort(selected.begin(), selected.end());
}

}  // namespace dsv4::engine
