// Per-family entry points (one translation unit each), dispatched by matmul.cc on the
// weight type. Each dispatches at run time to the best compiled SIMD target.
#pragma once

#include "simd/matmul.h"

namespace dsv4::simd {

#define DSV4_DECLARE_FAMILY(name)                                                             \
  void matmul_##name(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens, \
                     float* y, int64_t y_stride, int64_t row_begin, int64_t row_end);         \
  void decode_##name(const MatrixView& w, int64_t r, float* out);

DSV4_DECLARE_FAMILY(float)    // F32, F16, BF16
DSV4_DECLARE_FAMILY(q8_0)     // Q8_0
DSV4_DECLARE_FAMILY(kquants)  // Q2_K, Q4_K
DSV4_DECLARE_FAMILY(iq2_xxs)  // IQ2_XXS
DSV4_DECLARE_FAMILY(mxfp4)    // MXFP4

#undef DSV4_DECLARE_FAMILY

void matvec_fast_float(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                       int64_t row_end);
void matvec_fast_q8_0(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                      int64_t row_end);
void matvec_fast_mxfp4(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                       int64_t row_end);

}  // namespace dsv4::simd
