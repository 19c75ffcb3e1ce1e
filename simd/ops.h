// Small numerical operations on f32 vectors, independent of any model: normalisation,
// activations, rotary embeddings, the FP8/FP4 quantization-aware simulations and the
// Walsh–Hadamard transform, top-k selection. They are plain, exact scalar code: each is
// O(n) on short vectors and bit-reproducible on every target.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace dsv4::simd {

// Σx² accumulated in double: element i goes to partial sum i mod 8, and the eight are added in
// order (x² is exact in double; the result depends only on x).
double sum_of_squares(const float* x, int64_t n);

// y = x · (1/√(mean(x²) + eps)) [· w]; `w` may be null. In place when y == x.
void rms_norm(const float* x, const float* w, int64_t n, float eps, float* y);

float sigmoid(float x);   // 1/(1+e^-x), evaluated without overflow for any x
float silu(float x);      // x·σ(x): the scalar reference of the vector simd::swiglu
float softplus(float x);  // log(1+e^x), linear above 20

// Rotates interleaved pairs (x[2k], x[2k+1]) by angles whose cos/sin are given, k < n_pairs.
// `inverse` rotates by the negative angle.
void rope_rotate(float* x, const float* cos, const float* sin, int n_pairs, bool inverse);

// Rounds to the nearest FP8 E4M3FN value (|v| ≤ 448), ties to even.
float round_e4m3(float v);
// Rounds to the nearest FP4 E2M1 value (|v| ≤ 6), ties to the even code.
float round_e2m1(float v);
// Quantize–dequantize in blocks of `block` with a power-of-two scale per block, as the
// model's quantization-aware training did: FP8 E4M3 (max 448, amax floor 1e-4) and
// FP4 E2M1 (max 6, amax floor 6·2^-126). `n` must be a multiple of `block`.
void simulate_fp8_e4m3(float* x, int64_t n, int block);
void simulate_fp4_e2m1(float* x, int64_t n, int block);

// Unnormalised Walsh–Hadamard butterflies (Sylvester order) followed by a scale of
// 1/√n (as an f32 constant); n must be a power of two.
void hadamard_transform(float* x, int n);

// Indices of the k largest values in descending order of value; ties keep the lower index
// first. Linear in n for k ≪ n.
void top_k(const float* values, int64_t n, int64_t k, std::vector<int32_t>& out);

// Index of the first maximum.
int64_t argmax(const float* values, int64_t n);

}  // namespace dsv4::simd
