// Q2_K and Q4_K weights: vector decoders and products.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/matmul_kquants.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "simd/half.h"
#include "simd/matmul_tiles-inl.h"

HWY_BEFORE_NAMESPACE();
namespace dsv4::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Writes scale·q − min for `count` (a multiple of 16) quant values taken from bytes `q` as
// (byte >> shift) & mask, with ggml's rounding: one product, then one subtraction.
HWY_INLINE void AffineFromBytes(const uint8_t* q, int count, int shift, uint32_t mask, float scale,
                                float min, float* out) {
  const hn::CappedTag<float, 16> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const hn::Rebind<uint8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  const auto vscale = hn::Set(df, scale);
  const auto vmin = hn::Set(df, min);
  const auto vmask = hn::Set(du, mask);
  for (int j = 0; j < count; j += static_cast<int>(N)) {
    const auto bits =
        hn::And(hn::ShiftRightSame(hn::PromoteTo(du, hn::LoadU(d8, q + j)), shift), vmask);
    const auto value = hn::ConvertTo(df, hn::BitCast(hn::RebindToSigned<decltype(df)>(), bits));
    hn::StoreU(hn::Sub(hn::Mul(vscale, value), vmin), df, out + j);
  }
}

void DecodeQ2_KRow(const uint8_t* row, int64_t n, float* out) {
  const auto* blocks = reinterpret_cast<const BlockQ2_K*>(row);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const BlockQ2_K& b = blocks[i];
    const float d = f16_to_f32(b.d), dmin = f16_to_f32(b.dmin);
    float* y = out + i * kQK;
    int is = 0;
    for (int half = 0; half < 2; ++half) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int h = 0; h < 2; ++h) {
          const uint8_t sc = b.scales[is++];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = dmin * static_cast<float>(sc >> 4);
          AffineFromBytes(b.qs + 32 * half + 16 * h, 16, shift, 3, dl, ml, y);
          y += 16;
        }
      }
    }
  }
}

void DecodeQ4_KRow(const uint8_t* row, int64_t n, float* out) {
  const auto* blocks = reinterpret_cast<const BlockQ4_K*>(row);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const BlockQ4_K& b = blocks[i];
    const float d = f16_to_f32(b.d), dmin = f16_to_f32(b.dmin);
    float* y = out + i * kQK;
    for (int c = 0; c < 4; ++c) {
      uint8_t sc, m;
      q4_k_scale_min(b.scales, 2 * c, &sc, &m);
      AffineFromBytes(b.qs + 32 * c, 32, 0, 0xF, d * static_cast<float>(sc),
                      dmin * static_cast<float>(m), y);
      q4_k_scale_min(b.scales, 2 * c + 1, &sc, &m);
      AffineFromBytes(b.qs + 32 * c, 32, 4, 0xF, d * static_cast<float>(sc),
                      dmin * static_cast<float>(m), y + 32);
      y += 64;
    }
  }
}

void MatmulKQuants(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens,
                   float* y, int64_t y_stride, int64_t row_begin, int64_t row_end) {
  const int64_t k = w.cols;
  if (w.type == TensorType::Q2_K) {
    MatmulWithDecoder(
        w, [k](const uint8_t* row, float* out) { DecodeQ2_KRow(row, k, out); }, x, x_stride,
        n_tokens, y, y_stride, row_begin, row_end);
  } else {
    MatmulWithDecoder(
        w, [k](const uint8_t* row, float* out) { DecodeQ4_KRow(row, k, out); }, x, x_stride,
        n_tokens, y, y_stride, row_begin, row_end);
  }
}

void DecodeKQuants(const MatrixView& w, int64_t r, float* out) {
  if (w.type == TensorType::Q2_K) {
    DecodeQ2_KRow(w.row(r), w.cols, out);
  } else {
    DecodeQ4_KRow(w.row(r), w.cols, out);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace dsv4::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "simd/matmul_families.h"

namespace dsv4::simd {
HWY_EXPORT(MatmulKQuants);
HWY_EXPORT(DecodeKQuants);

void matmul_kquants(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens,
                    float* y, int64_t y_stride, int64_t row_begin, int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatmulKQuants)(w, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
}

void decode_kquants(const MatrixView& w, int64_t r, float* out) {
  HWY_DYNAMIC_DISPATCH(DecodeKQuants)(w, r, out);
}
}  // namespace dsv4::simd
#endif
