// IQ2_XXS weights: vector decoder and products.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/matmul_iq2_xxs.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "simd/half.h"
#include "simd/iq2_tables.h"
#include "simd/matmul_tiles-inl.h"

HWY_BEFORE_NAMESPACE();
namespace dsv4::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Each 8-element sub-group is grid[index] (bytes) times db, negated where the sign mask
// has a bit: ±(db·magnitude), the value ggml's (db·magnitude)·(±1) produces.
void DecodeIq2XxsRow(const uint8_t* row, int64_t n, float* out) {
  const hn::CappedTag<float, 8> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const hn::Rebind<uint8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  const auto* blocks = reinterpret_cast<const BlockIq2Xxs*>(row);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = f16_to_f32(blocks[i].d);
    float* y = out + i * kQK;
    for (int g = 0; g < 8; ++g) {
      uint32_t grid_indices, signs_scale;
      std::memcpy(&grid_indices, &blocks[i].qs[4 * g], 4);
      std::memcpy(&signs_scale, &blocks[i].qs[4 * g + 2], 4);
      const auto db = hn::Set(df, d * (0.5f + static_cast<float>(signs_scale >> 28)) * 0.25f);
      for (int k = 0; k < 4; ++k) {
        const uint64_t grid = kIq2xxsGrid[(grid_indices >> (8 * k)) & 0xFF];
        const uint8_t signs = iq2_sign_mask((signs_scale >> (7 * k)) & 127);
        uint8_t magnitudes[8];
        std::memcpy(magnitudes, &grid, 8);
        for (size_t j = 0; j < 8; j += N) {
          const auto mag =
              hn::ConvertTo(df, hn::BitCast(hn::RebindToSigned<decltype(df)>(),
                                            hn::PromoteTo(du, hn::LoadU(d8, magnitudes + j))));
          const uint8_t lane_signs = static_cast<uint8_t>(signs >> j);
          const auto negative = hn::LoadMaskBits(df, &lane_signs);
          const auto value = hn::Mul(db, mag);
          hn::StoreU(hn::IfThenElse(negative, hn::Neg(value), value), df, y + j);
        }
        y += 8;
      }
    }
  }
}

void MatmulIq2Xxs(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                  int64_t y_stride, int64_t row_begin, int64_t row_end) {
  const int64_t k = w.cols;
  MatmulWithDecoder(
      w, [k](const uint8_t* row, float* out) { DecodeIq2XxsRow(row, k, out); }, x, x_stride,
      n_tokens, y, y_stride, row_begin, row_end);
}

void DecodeIq2Xxs(const MatrixView& w, int64_t r, float* out) {
  DecodeIq2XxsRow(w.row(r), w.cols, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace dsv4::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "simd/matmul_families.h"

namespace dsv4::simd {
HWY_EXPORT(MatmulIq2Xxs);
HWY_EXPORT(DecodeIq2Xxs);

void matmul_iq2_xxs(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens,
                    float* y, int64_t y_stride, int64_t row_begin, int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatmulIq2Xxs)(w, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
}

void decode_iq2_xxs(const MatrixView& w, int64_t r, float* out) {
  HWY_DYNAMIC_DISPATCH(DecodeIq2Xxs)(w, r, out);
}
}  // namespace dsv4::simd
#endif
