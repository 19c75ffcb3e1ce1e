#include "simd/matmul.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "simd/matmul_families.h"

namespace dsv4::simd {

MatrixView MatrixView::row_slice(int64_t first, int64_t count) const {
  MatrixView out = *this;
  out.data = row(first);
  out.rows = count;
  return out;
}

MatrixView make_matrix(TensorType type, const void* data, int64_t rows, int64_t cols) {
  if (!is_matmul_type(type))
    fail("tensor type ", gguf::type_name(type), " cannot be used as a matrix");
  MatrixView m;
  m.type = type;
  m.data = static_cast<const uint8_t*>(data);
  m.rows = rows;
  m.cols = cols;
  m.row_stride = row_bytes(type, cols);
  return m;
}

void matmul(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride, int64_t row_begin, int64_t row_end) {
  if (row_begin >= row_end || n_tokens <= 0) return;
  switch (w.type) {
    case TensorType::F32:
    case TensorType::F16:
    case TensorType::BF16:
      matmul_float(w, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
      break;
    case TensorType::Q8_0:
      matmul_q8_0(w, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
      break;
    case TensorType::Q2_K:
    case TensorType::Q4_K:
      matmul_kquants(w, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
      break;
    case TensorType::IQ2_XXS:
      matmul_iq2_xxs(w, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
      break;
    case TensorType::MXFP4:
      matmul_mxfp4(w, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
      break;
    default:
      fail("no matrix kernel for tensor type ", gguf::type_name(w.type));
  }
}

void matvec(const MatrixView& w, const float* x, float* y, int64_t row_begin, int64_t row_end) {
  matmul(w, x, w.cols, 1, y, w.rows, row_begin, row_end);
}

void decode_row(const MatrixView& w, int64_t r, float* out) {
  switch (w.type) {
    case TensorType::F32:
    case TensorType::F16:
    case TensorType::BF16:
      decode_float(w, r, out);
      break;
    case TensorType::Q8_0:
      decode_q8_0(w, r, out);
      break;
    case TensorType::Q2_K:
    case TensorType::Q4_K:
      decode_kquants(w, r, out);
      break;
    case TensorType::IQ2_XXS:
      decode_iq2_xxs(w, r, out);
      break;
    case TensorType::MXFP4:
      decode_mxfp4(w, r, out);
      break;
    default:
      fail("no decoder for tensor type ", gguf::type_name(w.type));
  }
}

void decode_row_range(const MatrixView& w, int64_t r, int64_t k0, int64_t n, float* out) {
  MatrixView part = w;
  part.data = w.row(r) + row_bytes(w.type, k0);
  part.rows = 1;
  part.cols = n;
  decode_row(part, 0, out);
}

void quantize_input_i16(const float* x, int64_t n, int16_t* q, float* scale) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* v = x + b * 32;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[j]));
    const float d = amax / 32767.0f;
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    scale[b] = d;
    for (int j = 0; j < 32; ++j) q[b * 32 + j] = static_cast<int16_t>(std::lrint(v[j] * id));
  }
}

void matvec_fast(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                 int64_t row_end) {
  if (row_begin >= row_end) return;
  switch (w.type) {
    case TensorType::F32:
    case TensorType::F16:
    case TensorType::BF16:
      matvec_fast_float(w, in, y, row_begin, row_end);
      break;
    case TensorType::Q8_0:
      matvec_fast_q8_0(w, in, y, row_begin, row_end);
      break;
    case TensorType::MXFP4:
      matvec_fast_mxfp4(w, in, y, row_begin, row_end);
      break;
    default:
      matvec(w, in.x, y, row_begin, row_end);
  }
}

}  // namespace dsv4::simd
