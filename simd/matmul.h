// Matrix products of weight matrices (any supported block format) with f32 activations.
//
// Numerics (`--precision ref`): every weight is decoded exactly as ggml's dequantizer does,
// multiplied with f32 activations and summed in f32 with exactly one accumulator vector per
// (row, token), in a fixed order. The result of a row therefore does not depend on the row
// range, on the number of tokens sharing the call (batch invariance) or on the thread that
// computes it; it depends only on the SIMD target (vector width).
//
// Row-range entry points let the scheduler split the rows of one product across tasks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "simd/formats.h"

namespace dsv4::simd {

// A 2-D weight: `rows` rows of `cols` elements, row r at `data + r * row_stride`.
struct MatrixView {
  TensorType type = TensorType::F32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_stride = 0;

  const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_stride; }
  // Rows [first, first + count) as their own matrix (e.g. one group of a grouped projection).
  MatrixView row_slice(int64_t first, int64_t count) const;
};

// Checks that `type` is a matmul type and `cols` a whole number of its blocks.
MatrixView make_matrix(TensorType type, const void* data, int64_t rows, int64_t cols);

// y[r] = Σ_k W[r][k]·x[k] for r in [row_begin, row_end).
void matvec(const MatrixView& w, const float* x, float* y, int64_t row_begin, int64_t row_end);
inline void matvec(const MatrixView& w, const float* x, float* y) {
  matvec(w, x, y, 0, w.rows);
}

// y[t·y_stride + r] = Σ_k W[r][k]·x[t·x_stride + k] for t < n_tokens and r in
// [row_begin, row_end). Bit-identical to matvec for each token.
void matmul(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
            int64_t y_stride, int64_t row_begin, int64_t row_end);

// Decodes row `r` with the vector decoder (equal to decode_row_reference).
void decode_row(const MatrixView& w, int64_t r, float* out);
// Decodes `n` elements of row `r` from element `k0`; both must be whole blocks of w's type
// (except that n may end the row).
void decode_row_range(const MatrixView& w, int64_t r, int64_t k0, int64_t n, float* out);

// ---- `--precision fast` matrix–vector products ----
//
// The activation vector is prepared once per product and shared by every row task: kept in
// f32 for float weights, and also quantized to int16 per block of 32 (scale amax/32767) for
// the integer kernels of Q8_0 and MXFP4 weights. int16 keeps 15 bits per value, so the
// products are within ~1e-5 relative of f32 while running at the speed of an 8-bit path.
// Results depend only on the SIMD target, not on row ranges or threads.
struct PreparedInput {
  const float* x = nullptr;
  const int16_t* q = nullptr;      // cols int16 values
  const float* q_scale = nullptr;  // cols / 32 scales
  int64_t cols = 0;
};

// Quantizes `x` (n a multiple of 32) into `q` (n values) and `scale` (n / 32 values).
void quantize_input_i16(const float* x, int64_t n, int16_t* q, float* scale);

// y[r] for r in [row_begin, row_end) with the fast kernel of w's type (weight types without
// one use matvec on in.x).
void matvec_fast(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                 int64_t row_end);

}  // namespace dsv4::simd
