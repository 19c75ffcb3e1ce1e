// MXFP4 weights: vector decoder and products.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/matmul_mxfp4.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "simd/matmul_tiles-inl.h"

HWY_BEFORE_NAMESPACE();
namespace dsv4::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The 16 doubled E2M1 values are looked up with one byte shuffle per 16 nibbles; the value
// is kvalue·2^(e−128), a single exact product as in ggml.
void DecodeMxfp4Row(const uint8_t* row, int64_t n, float* out) {
  const hn::Full128<int8_t> d8x16;
  const hn::Full128<uint8_t> du8x16;
  const hn::CappedTag<float, 16> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  const auto table = hn::LoadU(d8x16, kMxfp4Values);
  const auto low_mask = hn::Set(du8x16, uint8_t{0x0F});
  const auto* blocks = reinterpret_cast<const BlockMxfp4*>(row);
  HWY_ALIGN int8_t values[32];
  for (int64_t b = 0; b < n / kMxfp4Block; ++b) {
    const auto packed = hn::LoadU(du8x16, blocks[b].qs);
    const auto lo = hn::BitCast(d8x16, hn::And(packed, low_mask));
    const auto hi = hn::BitCast(d8x16, hn::ShiftRight<4>(packed));
    hn::Store(hn::TableLookupBytes(table, lo), d8x16, values);
    hn::Store(hn::TableLookupBytes(table, hi), d8x16, values + 16);
    const auto scale = hn::Set(df, e8m0_to_f32_half(blocks[b].e));
    for (size_t j = 0; j < kMxfp4Block; j += N) {
      const auto v = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, values + j)));
      hn::StoreU(hn::Mul(v, scale), df, out + b * kMxfp4Block + j);
    }
  }
}

void MatmulMxfp4(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
  const int64_t k = w.cols;
  MatmulWithDecoder(
      w, [k](const uint8_t* row, float* out) { DecodeMxfp4Row(row, k, out); }, x, x_stride,
      n_tokens, y, y_stride, row_begin, row_end);
}

void DecodeMxfp4(const MatrixView& w, int64_t r, float* out) {
  DecodeMxfp4Row(w.row(r), w.cols, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace dsv4::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "simd/matmul_families.h"

namespace dsv4::simd {
HWY_EXPORT(MatmulMxfp4);
HWY_EXPORT(DecodeMxfp4);

void matmul_mxfp4(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                  int64_t y_stride, int64_t row_begin, int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatmulMxfp4)(w, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
}

void decode_mxfp4(const MatrixView& w, int64_t r, float* out) {
  HWY_DYNAMIC_DISPATCH(DecodeMxfp4)(w, r, out);
}
}  // namespace dsv4::simd
#endif
