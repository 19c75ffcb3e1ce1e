// Constants shared by the FP4 encoder (indexer_int8.cc) and its vector kernels.
#pragma once

#include <array>
#include <cstdint>

namespace dsv4::simd {

// Codes are stored signed; unsigned × signed int8 dot products read the query codes plus this
// bias (0 .. 24) and subtract bias · Σ key codes.
constexpr int kFp4CodeBias = 12;

// 2^e for every int8 exponent e, at index e + 128; 2^-127 and 2^-128 are f32 subnormals (exact).
inline constexpr std::array<float, 256> kFp4Scales = [] {
  std::array<float, 256> t{};
  t[128] = 1.0f;
  for (int e = 1; e <= 127; ++e)
    t[static_cast<size_t>(e + 128)] = 2.0f * t[static_cast<size_t>(e + 127)];
  for (int e = -1; e >= -128; --e)
    t[static_cast<size_t>(e + 128)] = 0.5f * t[static_cast<size_t>(e + 129)];
  return t;
}();

inline float fp4_scale(int e) {
  return kFp4Scales[static_cast<size_t>(e + 128)];
}

}  // namespace dsv4::simd
