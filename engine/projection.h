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

// One single-token product of the fast kernels: y = W · in.
struct OneTokenProduct {
  simd::MatrixView w;
  simd::PreparedInput in;
  float* y = nullptr;
};

// Whether the fast kernel of a weight type reads the int16 quantized activation (Q8_0,
// MXFP4) rather than the f32 one.
bool reads_int16_input(simd::TensorType type);

// Prepares x (cols values) for the fast kernels: the f32 values, plus, when `quantize`, their
// int16 quantization into q and q_scale (cols and cols / 32 values).
simd::PreparedInput prepare_one_token(const float* x, int64_t cols, bool quantize, int16_t* q,
                                      float* q_scale);

// Independent single-token products run as one parallel loop over all their rows, so that
// the threads meet once for the whole batch rather than once per matrix, and each task's
// rows stay long streams. Results equal running each product alone.
void project_one_token_batch(const OneTokenProduct* products, size_t count);

// y[t·y_stride + r] = W[r] · x[t·x_stride], t < n.
void project(const simd::MatrixView& w, const float* x, int64_t x_stride, int64_t n, float* y,
             int64_t y_stride, ProjectionScratch& scratch);

}  // namespace dsv4::engine
