#include "engine/projection.h"

#include <algorithm>

#include "engine/parallel.h"

namespace dsv4::engine {
namespace {

// Below these sizes the AMX path's fixed costs (preparing the activations, converting
// weights to tiles) outweigh its speed; measured with bench/ on a 2-core Xeon.
constexpr int64_t kAmxMinTokens = 16;
constexpr int64_t kAmxMinRows = 128;

bool use_amx(const simd::MatrixView& w, int64_t n, const ProjectionScratch& s) {
  return s.amx && n >= kAmxMinTokens && w.rows >= kAmxMinRows && w.cols % 32 == 0;
}

void project_amx(const simd::MatrixView& w, const float* x, int64_t x_stride, int64_t n, float* y,
                 int64_t y_stride, ProjectionScratch& s) {
  simd::AmxInput& in = s.amx_input;
  simd::size_amx_input(n, w.cols, in);
  parallel_ranges(in.padded_tokens / 16, 1, [&](int64_t b0, int64_t b1) {
    simd::prepare_amx_tokens(x, x_stride, b0, b1, in);
  });
  // Row tasks of whole 32-row blocks: at least 8 tasks to balance, at most 1024 rows each so
  // that a task's accumulators stay in L2.
  const int64_t blocks = (w.rows + 31) / 32;
  const int64_t grain = std::clamp<int64_t>(blocks / 8, 1, 32);
  parallel_ranges(blocks, grain, [&](int64_t b0, int64_t b1) {
    simd::matmul_amx(w, in, y, y_stride, 32 * b0, std::min(w.rows, 32 * b1));
  });
}

}  // namespace

void ProjectionScratch::init(bool fast_kernels, int64_t max_cols) {
  fast = fast_kernels;
  amx = fast_kernels && simd::amx_available();
  q.assign(static_cast<size_t>(max_cols), 0);
  q_scale.assign(static_cast<size_t>(max_cols / 32 + 1), 0.0f);
}

void project(const simd::MatrixView& w, const float* x, int64_t x_stride, int64_t n, float* y,
             int64_t y_stride, ProjectionScratch& s) {
  if (use_amx(w, n, s)) {
    project_amx(w, x, x_stride, n, y, y_stride, s);
    return;
  }
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
