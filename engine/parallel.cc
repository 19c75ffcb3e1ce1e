#include "engine/parallel.h"

namespace dsv4::engine {

void parallel_matmul(const simd::MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens,
                     float* y, int64_t y_stride) {
  // A product with few rows (router, hyper-connection mixes) over many tokens splits by
  // tokens instead: row pieces would be too few to keep every thread busy. The matmul is
  // batch-invariant, so either split gives the same bits.
  if (w.rows < 256 && n_tokens >= 8) {
    parallel_ranges(n_tokens, 4, [&](int64_t t0, int64_t t1) {
      simd::matmul(w, x + t0 * x_stride, x_stride, t1 - t0, y + t0 * y_stride, y_stride, 0, w.rows);
    });
    return;
  }
  // Pieces of ~64K weights per token keep task overhead small against the work.
  const int64_t grain = std::max<int64_t>(8, (int64_t{1} << 16) / std::max<int64_t>(1, w.cols));
  parallel_ranges(w.rows, grain, [&](int64_t r0, int64_t r1) {
    simd::matmul(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
  });
}

}  // namespace dsv4::engine
