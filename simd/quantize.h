// Quantizers from f32 to the weight formats the converter and `synth` write, plus the
// lossless repacks of DeepSeek's release encodings. Round-trip errors are measured by
// tests/simd_quantize_test.cc against per-format budgets.
#pragma once

#include <cstdint>

#include "simd/formats.h"

namespace dsv4::simd {

// Quantizes one row of `n` elements (a whole number of blocks) into `dst` (row_bytes(type, n)
// bytes). Supports F32, F16, BF16, Q8_0, Q2_K, Q4_K and MXFP4.
void quantize_row(TensorType type, const float* src, int64_t n, void* dst);

// Repacks release FP4 (E2M1 pairs, low nibble = even element) with one E8M0 scale per 32
// elements into ggml MXFP4 blocks, bit for bit: the values are identical after decoding.
// Returns false (writing nothing meaningful) if a scale is the NaN code 0xFF.
bool repack_fp4_to_mxfp4(const uint8_t* packed, const uint8_t* scales, int64_t n, BlockMxfp4* out);

}  // namespace dsv4::simd
