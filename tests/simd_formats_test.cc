// Decoders: exhaustive where the domain is small, and vector == scalar on every target.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "simd/formats.h"
#include "simd/half.h"
#include "simd/iq2_tables.h"
#include "simd/matmul.h"
#include "simd/quantize.h"
#include "tests/support/targets.h"

using namespace dsv4::simd;

namespace {

bool same_bits(float a, float b) {
  return f32_to_bits(a) == f32_to_bits(b);
}

// Random but valid bytes for one row of `type`: scales kept finite so decoded values are
// comparable bit for bit (NaN != NaN would hide nothing but complicates the check).
std::vector<uint8_t> random_row(TensorType type, int64_t n, std::mt19937& rng) {
  std::vector<uint8_t> bytes(row_bytes(type, n));
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  auto finite_half = [&](uint8_t* p) {  // f16 with exponent < 31
    uint16_t h = static_cast<uint16_t>(rng() & 0x7BFF);
    if (rng() & 1) h |= 0x8000;
    std::memcpy(p, &h, 2);
  };
  auto finite_bf16 = [&](uint8_t* p) {
    uint16_t h = static_cast<uint16_t>(rng() & 0x7F7F);
    std::memcpy(p, &h, 2);
  };
  const auto& traits = dsv4::gguf::type_traits(type);
  const int64_t nb = n / traits.block_elems;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* blk = bytes.data() + b * traits.block_bytes;
    switch (type) {
      case TensorType::F16:
        finite_half(blk);
        break;
      case TensorType::BF16:
        finite_bf16(blk);
        break;
      case TensorType::F32: {
        const float f = std::ldexp(static_cast<float>(static_cast<int32_t>(rng())),
                                   -31 + static_cast<int>(rng() % 8));
        std::memcpy(blk, &f, 4);
        break;
      }
      case TensorType::Q8_0:
      case TensorType::IQ2_XXS:
        finite_half(blk);
        break;
      case TensorType::Q4_K:
        finite_half(blk);
        finite_half(blk + 2);
        break;
      case TensorType::Q2_K:
        finite_half(blk + 80);
        finite_half(blk + 82);
        break;
      default:
        break;
    }
  }
  return bytes;
}

constexpr TensorType kMatmulTypes[] = {TensorType::F32,     TensorType::F16,  TensorType::BF16,
                                       TensorType::Q8_0,    TensorType::Q2_K, TensorType::Q4_K,
                                       TensorType::IQ2_XXS, TensorType::MXFP4};

}  // namespace

TEST_CASE("f16 and bf16 scalar conversions: all 65536 codes round-trip") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      CHECK(std::isnan(f16_to_f32(f32_to_f16(f))));
      continue;
    }
    CHECK(f32_to_f16(f) == h);
    CHECK(f32_to_bf16(bf16_to_f32(static_cast<uint16_t>(h))) ==
          (std::isnan(bf16_to_f32(h)) ? (h | 0x40) : h));
  }
  // Rounding: ties to even, overflow to infinity, underflow to (signed) zero and subnormals.
  CHECK(f32_to_f16(65519.0f) == 0x7BFF);
  CHECK(f32_to_f16(65520.0f) == 0x7C00);
  CHECK(f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);         // tie between 0 and 2^-24 → 0
  CHECK(f32_to_f16(std::ldexp(1.5f, -25)) == 0x0001);         // above the tie → 2^-24
  CHECK(f32_to_f16(std::ldexp(3.0f, -25)) == 0x0002);         // tie between 1 and 2 ulps → even
  CHECK(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);  // tie → even mantissa
  CHECK(f32_to_f16(1.0f + std::ldexp(3.0f, -11)) == 0x3C02);
  CHECK(f32_to_f16(-0.0f) == 0x8000);
  CHECK(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);
  CHECK(f32_to_bf16(1.0f + std::ldexp(3.0f, -8)) == 0x3F82);
}

TEST_CASE("FP8 E4M3: all 256 codes against the grid definition") {
  for (int code = 0; code < 256; ++code) {
    CAPTURE(code);
    const int magnitude = code & 0x7F;
    const float v = fp8_e4m3_to_f32(static_cast<uint8_t>(code));
    if (magnitude == 0x7F) {
      CHECK(std::isnan(v));
      continue;
    }
    // G(i) = i·2^-9 for i < 8, else (1 + (i & 7)/8)·2^((i >> 3) − 7); the largest is 448.
    const double g = magnitude < 8
                         ? magnitude / 512.0
                         : (1.0 + (magnitude & 7) / 8.0) * std::pow(2.0, (magnitude >> 3) - 7);
    CHECK(static_cast<double>(v) == ((code & 0x80) ? -g : g));
  }
  CHECK(fp8_e4m3_to_f32(0x7E) == 448.0f);
  CHECK(fp8_e4m3_to_f32(0x01) == std::ldexp(1.0f, -9));
}

TEST_CASE("FP4 E2M1: all 16 codes") {
  const float expected[16] = {0,     0.5f,  1,  1.5f,  2,  3,  4,  6,
                              -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
  for (int code = 0; code < 16; ++code) {
    CAPTURE(code);
    CHECK(same_bits(fp4_e2m1_to_f32(static_cast<uint8_t>(code)), expected[code]));
    CHECK(static_cast<float>(kMxfp4Values[code]) == 2.0f * expected[code]);
  }
}

TEST_CASE("E8M0: all 256 scales - including 0x00 and 0xFF") {
  for (int code = 0; code < 256; ++code) {
    CAPTURE(code);
    const float full = e8m0_to_f32(static_cast<uint8_t>(code));
    const float half = e8m0_to_f32_half(static_cast<uint8_t>(code));
    if (code == 255) {
      CHECK(std::isnan(full));  // the release format's NaN; the converter refuses it
      CHECK(half == std::ldexp(1.0f, 127));
      continue;
    }
    CHECK(static_cast<double>(full) == std::ldexp(1.0, code - 127));
    CHECK(static_cast<double>(half) == std::ldexp(1.0, code - 128));
  }
}

TEST_CASE("IQ2_XXS grid: every entry decodes with every sign pattern") {
  // The grid as published: 256 sorted distinct entries of the magnitudes 8, 25, 43.
  for (int g = 0; g < 256; ++g) {
    if (g > 0) CHECK(kIq2xxsGrid[g] > kIq2xxsGrid[g - 1]);
    for (int j = 0; j < 8; ++j) {
      const uint64_t byte = (kIq2xxsGrid[g] >> (8 * j)) & 0xFF;
      CHECK((byte == 8 || byte == 25 || byte == 43));
    }
  }
  for (int s = 0; s < 128; ++s) CHECK(__builtin_popcount(iq2_sign_mask(s)) % 2 == 0);
  // One block per group of 32 grid entries: sub-group k of group g uses entry 4g+k (+32·block).
  for (int block = 0; block < 8; ++block) {
    BlockIq2Xxs b{};
    b.d = f32_to_f16(1.0f);
    for (int g = 0; g < 8; ++g) {
      uint32_t indices = 0, signs_scale = 0;
      for (int k = 0; k < 4; ++k) {
        indices |= static_cast<uint32_t>(32 * block + 4 * g + k) << (8 * k);
        signs_scale |= static_cast<uint32_t>((17 * g + 29 * k + block) & 127) << (7 * k);
      }
      signs_scale |= static_cast<uint32_t>(g) << 28;
      std::memcpy(&b.qs[4 * g], &indices, 4);
      std::memcpy(&b.qs[4 * g + 2], &signs_scale, 4);
    }
    float ref[256];
    decode_row_reference(TensorType::IQ2_XXS, &b, 0, 256, ref);
    for (int g = 0; g < 8; ++g)
      for (int k = 0; k < 4; ++k) {
        const int entry = 32 * block + 4 * g + k;
        const uint8_t signs = iq2_sign_mask((17 * g + 29 * k + block) & 127);
        for (int j = 0; j < 8; ++j) {
          const double magnitude = static_cast<double>((kIq2xxsGrid[entry] >> (8 * j)) & 0xFF);
          const double expected = (0.5 + g) * 0.25 * magnitude * ((signs >> j) & 1 ? -1 : 1);
          CHECK(static_cast<double>(ref[32 * g + 8 * k + j]) == expected);
        }
      }
    dsv4::testing::for_each_target([&](const std::string&) {
      float vec[256];
      decode_row(make_matrix(TensorType::IQ2_XXS, &b, 1, 256), 0, vec);
      CHECK(std::memcmp(vec, ref, sizeof ref) == 0);
    });
  }
}

TEST_CASE("f16 vector decode of all 65536 codes equals the scalar conversion on every target") {
  std::vector<uint16_t> codes(65536);
  for (uint32_t i = 0; i < 65536; ++i) codes[i] = static_cast<uint16_t>(i);
  std::vector<float> ref(65536);
  for (uint32_t i = 0; i < 65536; ++i) ref[i] = f16_to_f32(codes[i]);
  dsv4::testing::for_each_target([&](const std::string&) {
    for (TensorType t : {TensorType::F16, TensorType::BF16}) {
      std::vector<float> vec(65536);
      decode_row(make_matrix(t, codes.data(), 1, 65536), 0, vec.data());
      size_t mismatches = 0;
      for (uint32_t i = 0; i < 65536; ++i) {
        const float expected = t == TensorType::F16 ? ref[i] : bf16_to_f32(codes[i]);
        if (!same_bits(vec[i], expected) && !(std::isnan(vec[i]) && std::isnan(expected)))
          ++mismatches;
      }
      CHECK(mismatches == 0);
    }
  });
}

TEST_CASE("vector decoders equal the scalar reference bit for bit on every target") {
  std::mt19937 rng(1234);
  for (TensorType type : kMatmulTypes) {
    const std::string name(dsv4::gguf::type_name(type));
    CAPTURE(name);
    const int64_t n = 1024;
    const auto row = random_row(type, n, rng);
    std::vector<float> ref(n);
    decode_row_reference(type, row.data(), 0, n, ref.data());
    dsv4::testing::for_each_target([&](const std::string&) {
      std::vector<float> vec(n);
      decode_row(make_matrix(type, row.data(), 1, n), 0, vec.data());
      CHECK(std::memcmp(vec.data(), ref.data(), n * sizeof(float)) == 0);
    });
  }
}

TEST_CASE("release FP4 + E8M0 repacks into MXFP4 without loss") {
  std::mt19937 rng(99);
  const int64_t n = 4096;
  std::vector<uint8_t> packed(n / 2), scales(n / 32);
  for (auto& b : packed) b = static_cast<uint8_t>(rng());
  for (auto& s : scales) s = static_cast<uint8_t>(rng() % 255);  // every code but the NaN one
  scales[0] = 0;
  scales[1] = 1;
  scales[2] = 254;
  std::vector<BlockMxfp4> blocks(n / 32);
  REQUIRE(repack_fp4_to_mxfp4(packed.data(), scales.data(), n, blocks.data()));
  std::vector<float> decoded(n);
  decode_row_reference(TensorType::MXFP4, blocks.data(), 0, n, decoded.data());
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t nibble = (packed[i / 2] >> (4 * (i & 1))) & 0xF;
    const float release = fp4_e2m1_to_f32(nibble) * e8m0_to_f32(scales[i / 32]);
    CAPTURE(i);
    CHECK(decoded[i] == release);  // equal values; ggml's table has no -0, so -0 decodes as +0
  }
  scales[5] = 0xFF;
  CHECK_FALSE(repack_fp4_to_mxfp4(packed.data(), scales.data(), n, blocks.data()));
}
