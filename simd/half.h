// Scalar IEEE half and bfloat16 conversions, bit-exact (round to nearest even, subnormals,
// infinities and NaN handled). These are the reference the vector decoders are tested against.
#pragma once

#include <cstdint>
#include <cstring>

namespace dsv4::simd {

inline float bits_to_f32(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint32_t f32_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  if (exp == 0x1F) return bits_to_f32(sign | 0x7F800000 | (mant << 13));  // inf / NaN
  if (exp != 0) return bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0) return bits_to_f32(sign);
  // Subnormal half: normalise into a float.
  int e = -1;
  do {
    ++e;
    mant <<= 1;
  } while ((mant & 0x400) == 0);
  return bits_to_f32(sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3FF) << 13));
}

inline uint16_t f32_to_f16(float f) {
  const uint32_t x = f32_to_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7FFFFFFF;
  if (abs > 0x7F800000)
    return static_cast<uint16_t>(sign | 0x7E00 | ((abs >> 13) & 0x1FF));  // quiet NaN
  if (abs >= 0x477FF000) return static_cast<uint16_t>(sign | 0x7C00);     // rounds to >= 65520: inf
  if (abs >= 0x38800000) {                                                // normal half
    const uint32_t rounded = abs + 0xFFF + ((abs >> 13) & 1);
    return static_cast<uint16_t>(sign | ((rounded - 0x38000000) >> 13));
  }
  if (abs < 0x33000000) return sign;  // below half the smallest subnormal: zero
  // Subnormal half: shift the full mantissa into place with round-to-nearest-even.
  const uint32_t exp = abs >> 23;
  const uint32_t mant = (abs & 0x7FFFFF) | 0x800000;
  const uint32_t shift = 126 - exp;  // 14..24
  const uint32_t half_mant = mant >> shift;
  const uint32_t rem = mant & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  const uint32_t round_up = rem > halfway || (rem == halfway && (half_mant & 1));
  return static_cast<uint16_t>(sign | (half_mant + round_up));
}

inline float bf16_to_f32(uint16_t h) {
  return bits_to_f32(static_cast<uint32_t>(h) << 16);
}

inline uint16_t f32_to_bf16(float f) {
  const uint32_t x = f32_to_bits(f);
  if ((x & 0x7FFFFFFF) > 0x7F800000)
    return static_cast<uint16_t>((x >> 16) | 0x40);  // keep NaN quiet
  return static_cast<uint16_t>((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

// Value after a round trip through f16 / bf16.
inline float round_f16(float f) {
  return f16_to_f32(f32_to_f16(f));
}
inline float round_bf16(float f) {
  return bf16_to_f32(f32_to_bf16(f));
}

}  // namespace dsv4::simd
