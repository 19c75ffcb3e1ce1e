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
  const OneTokenProduct product{
      w, prepare_one_token(x, w.cols, reads_int16_input(w.type), s.q.data(), s.q_scale.data()), y};
  project_one_token_batch(&product, 1);
}

bool reads_int16_input(simd::TensorType type) {
  return type == simd::TensorType::Q8_0 || type == simd::TensorType::MXFP4;
}

simd::PreparedInput prepare_one_token(const float* x, int64_t cols, bool quantize, int16_t* q,
                                      float* q_scale) {
  if (!quantize) return simd::PreparedInput{x, nullptr, nullptr, cols};
  simd::quantize_input_i16(x, cols, q, q_scale);
  return simd::PreparedInput{x, q, q_scale, cols};
}

void project_one_token_batch(const OneTokenProduct* products, size_t count) {
  int64_t total_rows = 0, widest = 1;
  for (size_t i = 0; i < count; ++i) {
    total_rows += products[i].w.rows;
    widest = std::max(widest, products[i].w.cols);
  }
  // Pieces of ~256K weights keep task overhead small and leave work to steal.
  const int64_t grain = std::max<int64_t>(16, (int64_t{1} << 18) / widest);
  parallel_ranges(total_rows, grain, [&](int64_t v0, int64_t v1) {
    int64_t first_row = 0;  // of product i in the concatenated rows
    for (size_t i = 0; i < count && first_row < v1; first_row += products[i].w.rows, ++i) {
      const OneTokenProduct& p = products[i];
      const int64_t r0 = std::max<int64_t>(v0 - first_row, 0);
      const int64_t r1 = std::min(v1 - first_row, p.w.rows);
      if (r0 < r1) simd::matvec_fast(p.w, p.in, p.y, r0, r1);
    }
  });
}

}  // namespace dsv4::engine
