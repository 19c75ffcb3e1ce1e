// The matrix products of the forward pass. In `fast` precision a single-token product uses
// the fast kernels (activations quantized once to int16 for Q8_0/MXFP4 weights); prefill
// chunks and `ref` precision use the batch-invariant matmul. Rows are split across tasks.
#pragma once

#include <cstdint>
#include <vector>

#include "simd/matmul.h"

namespace dsv4::engine {

struct ProjectionScratch {
  bool fast = false;
  std::vector<int16_t> q;  // quantized activation, sized for the widest input
  std::vector<float> q_scale;

  void init(bool fast_kernels, int64_t max_cols);
};

// y[t·y_stride + r] = W[r] · x[t·x_stride], t < n.
void project(const simd::MatrixView& w, const float* x, int64_t x_stride, int64_t n, float* y,
             int64_t y_stride, ProjectionScratch& scratch);

}  // namespace dsv4::engine
