// IQ2_XXS format constants (public ggml format facts): the 256-entry grid of 8 magnitudes
// (bytes 0x08, 0x19, 0x2b = 8, 25, 43) and the 7-bit → 8-bit sign table (bit 7 = parity).
#pragma once

#include <cstdint>

namespace dsv4::simd {

extern const uint64_t kIq2xxsGrid[256];

// Sign mask for a 7-bit index: the index with bit 7 set when the index has odd parity, so
// every mask has an even number of negative signs.
constexpr uint8_t iq2_sign_mask(uint32_t index7) {
  return static_cast<uint8_t>(index7 | ((__builtin_popcount(index7) & 1) << 7));
}

}  // namespace dsv4::simd
