// Weight block formats (ggml layouts, MODEL.md §9) and the release checkpoint's FP8/FP4
// encodings, with scalar reference decoders. The vector decoders and every matrix kernel
// are tested against these.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/tensor_types.h"

namespace dsv4::simd {

using gguf::TensorType;

constexpr int kQK = 256;  // super-block of the K-quants, IQ2_XXS and Q8_K
constexpr int kQ8_0Block = 32;
constexpr int kMxfp4Block = 32;

struct BlockQ8_0 {
  uint16_t d;  // f16 scale
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ2_K {
  uint8_t scales[16];  // low nibble: scale, high nibble: min, per 16 elements
  uint8_t qs[64];      // 2-bit quants
  uint16_t d;          // f16 super-block scale for the scales
  uint16_t dmin;       // f16 super-block scale for the mins
};
static_assert(sizeof(BlockQ2_K) == 84);

struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];  // 8 six-bit scales and 8 six-bit mins, packed
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];
};
static_assert(sizeof(BlockQ8_K) == 292);

struct BlockIq2Xxs {
  uint16_t d;
  uint16_t qs[32];
};
static_assert(sizeof(BlockIq2Xxs) == 66);

struct BlockMxfp4 {
  uint8_t e;       // E8M0 shared exponent
  uint8_t qs[16];  // element j in the low nibble of qs[j], element j+16 in the high nibble
};
static_assert(sizeof(BlockMxfp4) == 17);

// FP4 E2M1 magnitudes doubled, as ggml's MXFP4 stores them (the ½ lives in the scale).
extern const int8_t kMxfp4Values[16];

// Q4_K's packed 6-bit scale and min of sub-block j (0..7).
void q4_k_scale_min(const uint8_t* scales, int j, uint8_t* scale, uint8_t* min);

// ---- release checkpoint encodings (DeepSeek's safetensors) ----

// FP8 E4M3FN: bias 7, subnormals m·2^-9, codes 0x7F/0xFF are NaN, no infinities.
float fp8_e4m3_to_f32(uint8_t code);
// E8M0 scale 2^(e-127); 0x00 is 2^-127, 0xFF is NaN (as torch's float8_e8m0fnu defines).
float e8m0_to_f32(uint8_t code);
// ggml's MXFP4 scale: E8M0 halved, 2^(e-128) (0x00 → 2^-128, 0x01 → 2^-127, no NaN).
// Inline: the MXFP4 kernels call it once per block.
inline float e8m0_to_f32_half(uint8_t code) {
  const uint32_t bits = code < 2 ? 0x00200000u << code : static_cast<uint32_t>(code - 1) << 23;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}
// FP4 E2M1 nibble: {0, .5, 1, 1.5, 2, 3, 4, 6} with bit 3 as the sign.
float fp4_e2m1_to_f32(uint8_t nibble);

// ---- scalar reference decoding of whole rows ----

// Number of bytes of a row of `n` elements (n a whole number of blocks).
size_t row_bytes(TensorType type, int64_t n);
// True for the types matrix kernels accept as weights.
bool is_matmul_type(TensorType type);
// Decodes `n` elements starting at block-aligned element `k0` of `row` into `out`, with the
// exact float arithmetic ggml's dequantizers use. Throws for types without a decoder.
void decode_row_reference(TensorType type, const void* row, int64_t k0, int64_t n, float* out);

}  // namespace dsv4::simd
