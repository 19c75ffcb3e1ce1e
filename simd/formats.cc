#include "simd/formats.h"

#include <cmath>
#include <limits>

#include "base/error.h"
#include "simd/half.h"
#include "simd/iq2_tables.h"

namespace dsv4::simd {

const int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

void q4_k_scale_min(const uint8_t* scales, int j, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = scales[j] & 63;
    *min = scales[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

float fp8_e4m3_to_f32(uint8_t code) {
  const float sign = (code & 0x80) ? -1.0f : 1.0f;
  const int exp = (code >> 3) & 0xF;
  const int mant = code & 7;
  if (exp == 0xF && mant == 7) return std::numeric_limits<float>::quiet_NaN();
  if (exp == 0) return sign * std::ldexp(static_cast<float>(mant), -9);
  return sign * std::ldexp(1.0f + static_cast<float>(mant) / 8.0f, exp - 7);
}

float e8m0_to_f32(uint8_t code) {
  if (code == 0xFF) return std::numeric_limits<float>::quiet_NaN();
  if (code == 0) return bits_to_f32(0x00400000);
  return bits_to_f32(static_cast<uint32_t>(code) << 23);
}

float fp4_e2m1_to_f32(uint8_t nibble) {
  static const float kMagnitude[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const float m = kMagnitude[nibble & 7];
  return (nibble & 8) ? -m : m;
}

size_t row_bytes(TensorType type, int64_t n) {
  const auto bytes = gguf::bytes_for_elements(type, static_cast<uint64_t>(n));
  if (!bytes)
    fail("row of ", n, " elements is not a whole number of ", gguf::type_name(type), " blocks");
  return static_cast<size_t>(*bytes);
}

bool is_matmul_type(TensorType type) {
  switch (type) {
    case TensorType::F32:
    case TensorType::F16:
    case TensorType::BF16:
    case TensorType::Q8_0:
    case TensorType::Q2_K:
    case TensorType::Q4_K:
    case TensorType::IQ2_XXS:
    case TensorType::MXFP4:
      return true;
    default:
      return false;
  }
}

namespace {

void decode_q8_0(const BlockQ8_0* blocks, int64_t nb, float* out) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(blocks[i].d);
    for (int j = 0; j < 32; ++j) out[i * 32 + j] = d * static_cast<float>(blocks[i].qs[j]);
  }
}

void decode_q2_k(const BlockQ2_K* blocks, int64_t nb, float* out) {
  for (int64_t i = 0; i < nb; ++i) {
    const BlockQ2_K& b = blocks[i];
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    float* y = out + i * kQK;
    int is = 0;
    for (int n = 0; n < 2; ++n) {
      const uint8_t* q = b.qs + 32 * n;
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = b.scales[is++];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l)
            *y++ = dl * static_cast<float>((q[16 * half + l] >> shift) & 3) - ml;
        }
      }
    }
  }
}

void decode_q4_k(const BlockQ4_K* blocks, int64_t nb, float* out) {
  for (int64_t i = 0; i < nb; ++i) {
    const BlockQ4_K& b = blocks[i];
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    float* y = out + i * kQK;
    for (int c = 0; c < 4; ++c) {
      uint8_t sc, m;
      q4_k_scale_min(b.scales, 2 * c, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      q4_k_scale_min(b.scales, 2 * c + 1, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      const uint8_t* q = b.qs + 32 * c;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void decode_iq2_xxs(const BlockIq2Xxs* blocks, int64_t nb, float* out) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(blocks[i].d);
    float* y = out + i * kQK;
    for (int g = 0; g < 8; ++g) {
      uint32_t grid_indices, signs_scale;
      std::memcpy(&grid_indices, &blocks[i].qs[4 * g], 4);
      std::memcpy(&signs_scale, &blocks[i].qs[4 * g + 2], 4);
      const float db = d * (0.5f + static_cast<float>(signs_scale >> 28)) * 0.25f;
      for (int k = 0; k < 4; ++k) {
        const uint64_t grid = kIq2xxsGrid[(grid_indices >> (8 * k)) & 0xFF];
        const uint8_t signs = iq2_sign_mask((signs_scale >> (7 * k)) & 127);
        for (int j = 0; j < 8; ++j) {
          const float magnitude = static_cast<float>((grid >> (8 * j)) & 0xFF);
          *y++ = db * magnitude * ((signs >> j) & 1 ? -1.0f : 1.0f);
        }
      }
    }
  }
}

void decode_mxfp4(const BlockMxfp4* blocks, int64_t nb, float* out) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = e8m0_to_f32_half(blocks[i].e);
    for (int j = 0; j < 16; ++j) {
      out[i * 32 + j] = static_cast<float>(kMxfp4Values[blocks[i].qs[j] & 0xF]) * d;
      out[i * 32 + j + 16] = static_cast<float>(kMxfp4Values[blocks[i].qs[j] >> 4]) * d;
    }
  }
}

}  // namespace

void decode_row_reference(TensorType type, const void* row, int64_t k0, int64_t n, float* out) {
  const auto& traits = gguf::type_traits(type);
  if (k0 % traits.block_elems != 0 || n % traits.block_elems != 0)
    fail("decode of ", gguf::type_name(type), " elements [", k0, ", ", k0 + n,
         ") is not block aligned");
  const auto* bytes =
      static_cast<const uint8_t*>(row) + k0 / traits.block_elems * traits.block_bytes;
  const int64_t nb = n / traits.block_elems;
  switch (type) {
    case TensorType::F32:
      std::memcpy(out, bytes, static_cast<size_t>(n) * 4);
      break;
    case TensorType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);
        out[i] = f16_to_f32(h);
      }
      break;
    case TensorType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);
        out[i] = bf16_to_f32(h);
      }
      break;
    case TensorType::Q8_0:
      decode_q8_0(reinterpret_cast<const BlockQ8_0*>(bytes), nb, out);
      break;
    case TensorType::Q2_K:
      decode_q2_k(reinterpret_cast<const BlockQ2_K*>(bytes), nb, out);
      break;
    case TensorType::Q4_K:
      decode_q4_k(reinterpret_cast<const BlockQ4_K*>(bytes), nb, out);
      break;
    case TensorType::IQ2_XXS:
      decode_iq2_xxs(reinterpret_cast<const BlockIq2Xxs*>(bytes), nb, out);
      break;
    case TensorType::MXFP4:
      decode_mxfp4(reinterpret_cast<const BlockMxfp4*>(bytes), nb, out);
      break;
    default:
      fail("no decoder for tensor type ", gguf::type_name(type));
  }
}

}  // namespace dsv4::simd
