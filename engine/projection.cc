#include "engine/projection.h"

#include <algorithm>

#include "engine/parallel.h"

namespace dsv4::engine {

void ProjectionScratch::init(bool fast_kernels, int64_t max_cols) {
  fast = fast_kernels;
  q.assign(static_cast<size_t>(max_cols), 0);
  q_scale.assign(static_cast<size_t>(max_cols / 32 + 1), 0.0f);
}

void project(const simd::MatrixView& w, const float* x, int64_t x_stride, int64_t n, float* y,
             int64_t y_stride, ProjectionScratch& s) {
  if (!s.fast || n != 1) {
    parallel_matmul(w, x, x_stride, n, y, y_stride);
    return;
  }
  simd::PreparedInput in{x, nullptr, nullptr, w.cols};
  if (w.type == simd::TensorType::Q8_0 || w.type == simd::TensorType::MXFP4) {
    simd::quantize_input_i16(x, w.cols, s.q.data(), s.q_scale.data());
    in.q = s.q.data();
    in.q_scale = s.q_scale.data();
  }
  // Pieces of ~256K weights keep task overhead small and leave work to steal.
  const int64_t grain = std::max<int64_t>(16, (int64_t{1} << 18) / std::max<int64_t>(1, w.cols));
  parallel_ranges(w.rows, grain,
                  [&](int64_t r0, int64_t r1) { simd::matvec_fast(w, in, y, r0, r1); });
}

}  // namespace dsv4::engine
