// MXFP4 weights: vector decoder and products.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/matmul_mxfp4.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "simd/fast_kernels-inl.h"
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

// The doubled E2M1 values of one block as int8, in element order (low nibbles are elements
// 0..15, high nibbles 16..31).
HWY_INLINE void LookupBlock(const BlockMxfp4& blk, hn::Vec<hn::Full128<int8_t>> table,
                            int8_t* out) {
  const hn::Full128<int8_t> d8;
  const hn::Full128<uint8_t> du8;
  const auto packed = hn::LoadU(du8, blk.qs);
  hn::Store(
      hn::TableLookupBytes(table, hn::BitCast(d8, hn::And(packed, hn::Set(du8, uint8_t{0x0F})))),
      d8, out);
  hn::Store(hn::TableLookupBytes(table, hn::BitCast(d8, hn::ShiftRight<4>(packed))), d8, out + 16);
}

// Four rows at a time share every activation load; the E8M0 scale (with the ½ of the doubled
// table) times d_x scales each block's i32 dot.
void MatvecFastMxfp4(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                     int64_t row_end) {
  constexpr int kRows = 4;
  const DF df;
  const auto table = hn::LoadU(hn::Full128<int8_t>(), kMxfp4Values);
  const int64_t nb = w.cols / kMxfp4Block;
  HWY_ALIGN int8_t values[kRows][32];
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, row_end - r0));
    const BlockMxfp4* rows[kRows];
    for (int i = 0; i < kRows; ++i)
      rows[i] = reinterpret_cast<const BlockMxfp4*>(w.row(r0 + (i < nr ? i : 0)));
    hn::Vec<DF> acc[kRows];
    for (int i = 0; i < kRows; ++i) acc[i] = hn::Zero(df);
    for (int64_t b = 0; b < nb; ++b) {
      const int16_t* xb = in.q + b * kMxfp4Block;
      const float xs = in.q_scale[b];
      for (int i = 0; i < kRows; ++i) LookupBlock(rows[i][b], table, values[i]);
      for (int i = 0; i < kRows; ++i) {
        const auto dot = hn::ConvertTo(df, BlockDotI8(values[i], xb));
        acc[i] = hn::MulAdd(hn::Set(df, e8m0_to_f32_half(rows[i][b].e) * xs), dot, acc[i]);
      }
    }
    for (int i = 0; i < nr; ++i) y[r0 + i] = hn::GetLane(hn::SumOfLanes(df, acc[i]));
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace dsv4::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "simd/matmul_families.h"

namespace dsv4::simd {
HWY_EXPORT(MatmulMxfp4);
HWY_EXPORT(DecodeMxfp4);
HWY_EXPORT(MatvecFastMxfp4);

void matvec_fast_mxfp4(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                       int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatvecFastMxfp4)(w, in, y, row_begin, row_end);
}

void matmul_mxfp4(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                  int64_t y_stride, int64_t row_begin, int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatmulMxfp4)(w, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
}

void decode_mxfp4(const MatrixView& w, int64_t r, float* out) {
  HWY_DYNAMIC_DISPATCH(DecodeMxfp4)(w, r, out);
}
}  // namespace dsv4::simd
#endif
