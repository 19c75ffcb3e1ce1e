#include "engine/parallel.h"

#include <tbb/parallel_for.h>

#include <algorithm>

namespace dsv4::engine {

void parallel_ranges(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (n <= 0) return;
  if (n <= grain) {
    body(0, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain),
                    [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); });
}

void parallel_matmul(const simd::MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens,
                     float* y, int64_t y_stride) {
  // Pieces of ~64K weights per token keep task overhead small against the work.
  const int64_t grain = std::max<int64_t>(8, (int64_t{1} << 16) / std::max<int64_t>(1, w.cols));
  parallel_ranges(w.rows, grain, [&](int64_t r0, int64_t r1) {
    simd::matmul(w, x, x_stride, n_tokens, y, y_stride, r0, r1);
  });
}

}  // namespace dsv4::engine
