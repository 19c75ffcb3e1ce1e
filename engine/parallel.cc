#include "engine/parallel.h"

namespace dsv4::engine {

void parallel_matmul(const simd::MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens,
                     float* y, int64_t y_stride) {
  // Pieces of ~64K weights per token keep task overhead small against the work.
  const int64_t grain = std::max<int64_t>(8, (int64_t{1} << 16) / std::max<int64_t>(1, w.cols));
  parallel_ranges(w.rows, grain, [&](int64_t r0, int64_t r1) {
    simd::matmul(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
  });
}

}  // namespace dsv4::engine
