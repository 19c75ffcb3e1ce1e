// The matrix products of the forward pass. `ref` precision and small chunks use the
// batch-invariant matmul. In `fast` precision a single-token product uses the fast kernels
// (activations quantized once to int16 for Q8_0/MXFP4 weights), and a product over many
// tokens uses AMX tiles where the CPU has them. Rows are split across tasks.
#pragma once

#include <cstdint>
#include <vector>

#include "simd/amx.h"
#include "simd/matmul.h"

namespace dsv4::engine {

struct ProjectionScratch {
  bool fast = false;
  bool amx = false;        // fast precision on a CPU with AMX-BF16
  std::vector<int16_t> q;  // quantized activation, sized for the widest input
  std::vector<float> q_scale;
  simd::AmxInput amx_input;  // grows to the largest chunk × width it is given

  void init(bool fast_kernels, int64_t max_cols);
};

// y[t·y_stride + r] = W[r] · x[t·x_stride], t < n.
void project(const simd::MatrixView& w, const float* x, int64_t x_stride, int64_t n, float* y,
             int64_t y_stride, ProjectionScratch& scratch);

}  // namespace dsv4::engine
