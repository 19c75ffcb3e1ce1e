// Q8_0 weights: vector decoder and products.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/matmul_q8_0.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "simd/fast_kernels-inl.h"
#include "simd/half.h"
#include "simd/matmul_tiles-inl.h"

HWY_BEFORE_NAMESPACE();
namespace dsv4::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// w = f32(d)·q, one rounding, as ggml's dequantize_row_q8_0.
void DecodeQ8_0Row(const uint8_t* row, int64_t n, float* out) {
  const hn::CappedTag<float, 16> df;  // 16 divides the 32-element block
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const size_t N = hn::Lanes(df);
  const auto* blocks = reinterpret_cast<const BlockQ8_0*>(row);
  for (int64_t b = 0; b < n / kQ8_0Block; ++b) {
    const auto scale = hn::Set(df, f16_to_f32(blocks[b].d));
    for (size_t j = 0; j < kQ8_0Block; j += N) {
      const auto q = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, blocks[b].qs + j)));
      hn::StoreU(hn::Mul(scale, q), df, out + b * kQ8_0Block + j);
    }
  }
}

void MatmulQ8_0(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                int64_t y_stride, int64_t row_begin, int64_t row_end) {
  const int64_t k = w.cols;
  MatmulWithDecoder(
      w, [k](const uint8_t* row, float* out) { DecodeQ8_0Row(row, k, out); }, x, x_stride, n_tokens,
      y, y_stride, row_begin, row_end);
}

void DecodeQ8_0(const MatrixView& w, int64_t r, float* out) {
  DecodeQ8_0Row(w.row(r), w.cols, out);
}

// Four rows at a time share every activation load; each block's i32 dot is scaled by
// d_w·d_x and accumulated in f32.
void MatvecFastQ8_0(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                    int64_t row_end) {
  constexpr int kRows = QuarterStreams::kStreams;
  static_assert(kRows == 4, "the accumulators below are written out for four rows");
  const DF df;
  const int64_t nb = w.cols / kQ8_0Block;
  QuarterStreams streams(w, row_begin, row_end);
  for (int64_t g = 0; g < streams.groups(); ++g) {
    int64_t row[kRows];
    const int nr = streams.rows(g, row);
    const BlockQ8_0* rows[kRows];
    for (int i = 0; i < kRows; ++i) rows[i] = reinterpret_cast<const BlockQ8_0*>(w.row(row[i]));
    // Named accumulators: SVE vectors are sizeless and cannot form an array.
    hn::Vec<DF> acc0 = hn::Zero(df), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (int64_t b = 0; b < nb; ++b) {
      const int16_t* xb = in.q + b * kQ8_0Block;
      const float xs = in.q_scale[b];
      const int stream = static_cast<int>(b % kRows);
      streams.Advance(stream, reinterpret_cast<const uint8_t*>(rows[stream] + b + 1));
      const auto add_block = [&](int i, hn::Vec<DF> acc) {
        const BlockQ8_0& blk = rows[i][b];
        const auto dot = hn::ConvertTo(df, BlockDotI8(blk.qs, xb));
        return hn::MulAdd(hn::Set(df, HalfToFloat(blk.d) * xs), dot, acc);
      };
      acc0 = add_block(0, acc0);
      acc1 = add_block(1, acc1);
      acc2 = add_block(2, acc2);
      acc3 = add_block(3, acc3);
    }
    const float sums[kRows] = {
        hn::GetLane(hn::SumOfLanes(df, acc0)), hn::GetLane(hn::SumOfLanes(df, acc1)),
        hn::GetLane(hn::SumOfLanes(df, acc2)), hn::GetLane(hn::SumOfLanes(df, acc3))};
    for (int i = 0; i < nr; ++i) y[row[i]] = sums[i];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace dsv4::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "simd/matmul_families.h"

namespace dsv4::simd {
HWY_EXPORT(MatmulQ8_0);
HWY_EXPORT(DecodeQ8_0);
HWY_EXPORT(MatvecFastQ8_0);

void matvec_fast_q8_0(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                      int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatvecFastQ8_0)(w, in, y, row_begin, row_end);
}

void matmul_q8_0(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatmulQ8_0)(w, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
}

void decode_q8_0(const MatrixView& w, int64_t r, float* out) {
  HWY_DYNAMIC_DISPATCH(DecodeQ8_0)(w, r, out);
}
}  // namespace dsv4::simd
#endif
