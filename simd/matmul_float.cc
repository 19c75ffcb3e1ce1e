// F32, F16 and BF16 weights: vector decoders and products.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/matmul_float.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <type_traits>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "simd/fast_kernels-inl.h"
#include "simd/matmul_tiles-inl.h"

HWY_BEFORE_NAMESPACE();
namespace dsv4::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Targets whose f16 conversion Highway 1.0.3 emulates (no F16C); that emulation maps f16
// infinities and NaNs to large finite numbers, so these targets use ExactF16ToF32 instead.
constexpr bool kEmulatedF16 = HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3 ||
                              HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SCALAR;

// f16 bits → f32, exact for every code: moving the 15 exponent/mantissa bits up by 13 and
// scaling by 2^112 rebiases normals and subnormals alike (the product is exact); exponent 31
// becomes an f32 infinity or NaN with the same payload.
template <class DF>
HWY_INLINE hn::Vec<DF> ExactF16ToF32(DF df, hn::Vec<hn::RebindToUnsigned<DF>> h) {
  const hn::RebindToUnsigned<DF> du;
  const auto sign = hn::ShiftLeft<16>(hn::And(h, hn::Set(du, 0x8000u)));
  const auto magnitude = hn::ShiftLeft<13>(hn::And(h, hn::Set(du, 0x7FFFu)));
  const auto scaled = hn::Mul(hn::BitCast(df, magnitude), hn::Set(df, 0x1.0p112f));
  const auto special = hn::BitCast(df, hn::Or(magnitude, hn::Set(du, 0x7F800000u)));
  const auto is_special = hn::Eq(hn::And(h, hn::Set(du, 0x7C00u)), hn::Set(du, 0x7C00u));
  return hn::Or(hn::IfThenElse(hn::RebindMask(df, is_special), special, scaled),
                hn::BitCast(df, sign));
}

// f16/bf16 → f32 conversions are exact, so any lane grouping gives the reference values.
template <typename Half, class DF>
HWY_INLINE void DecodeHalfSpan(DF df, const Half* src, float* out) {
  const hn::Rebind<Half, DF> dh;
  if constexpr (std::is_same_v<Half, hwy::float16_t> && kEmulatedF16) {
    const hn::RebindToUnsigned<DF> du;
    const hn::Rebind<uint16_t, DF> du16;
    const auto bits = hn::PromoteTo(du, hn::LoadU(du16, reinterpret_cast<const uint16_t*>(src)));
    hn::StoreU(ExactF16ToF32(df, bits), df, out);
  } else {
    hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, src)), df, out);
  }
}

template <typename Half>
void DecodeHalfRow(const uint8_t* row, int64_t n, float* out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const auto* src = reinterpret_cast<const Half*>(row);
  int64_t i = 0;
  for (; i + static_cast<int64_t>(N) <= n; i += static_cast<int64_t>(N))
    DecodeHalfSpan(df, src + i, out + i);
  for (; i < n; ++i) DecodeHalfSpan(hn::CappedTag<float, 1>(), src + i, out + i);
}

void MatmulFloat(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
  const int64_t k = w.cols;
  switch (w.type) {
    case TensorType::F16:
      MatmulWithDecoder(
          w, [k](const uint8_t* row, float* out) { DecodeHalfRow<hwy::float16_t>(row, k, out); }, x,
          x_stride, n_tokens, y, y_stride, row_begin, row_end);
      break;
    case TensorType::BF16:
      MatmulWithDecoder(
          w, [k](const uint8_t* row, float* out) { DecodeHalfRow<hwy::bfloat16_t>(row, k, out); },
          x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
      break;
    default:
      MatmulWithDecoder(
          w, [](const uint8_t*, float*) {}, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
  }
}

// f32 activations; weights converted in registers. Four rows share each activation load.
template <typename T>
void MatvecFastFloatRows(const MatrixView& w, const float* x, float* y, int64_t row_begin,
                         int64_t row_end) {
  constexpr int kRows = 4;
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const int64_t k = w.cols;
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, row_end - r0));
    const T* rows[kRows];
    for (int i = 0; i < kRows; ++i)
      rows[i] = reinterpret_cast<const T*>(w.row(r0 + (i < nr ? i : 0)));
    // Named accumulators: SVE vectors are sizeless and cannot form an array.
    hn::Vec<decltype(df)> acc0 = hn::Zero(df), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int64_t j = 0;
    for (; j + static_cast<int64_t>(N) <= k; j += static_cast<int64_t>(N)) {
      if (j % 64 == 0)
        for (int i = 0; i < kRows; ++i)
          hwy::Prefetch(reinterpret_cast<const uint8_t*>(rows[i] + j) + kPrefetchBytes);
      const auto xv = hn::LoadU(df, x + j);
      const auto add_row = [&](int i, hn::Vec<decltype(df)> acc) {
        hn::Vec<decltype(df)> wv;
        if constexpr (std::is_same_v<T, float>) {
          wv = hn::LoadU(df, rows[i] + j);
        } else {
          HWY_ALIGN float tmp[hn::MaxLanes(df)];
          DecodeHalfSpan(df, rows[i] + j, tmp);
          wv = hn::Load(df, tmp);
        }
        return hn::MulAdd(wv, xv, acc);
      };
      acc0 = add_row(0, acc0);
      acc1 = add_row(1, acc1);
      acc2 = add_row(2, acc2);
      acc3 = add_row(3, acc3);
    }
    float tail[kRows] = {};
    for (; j < k; ++j) {
      for (int i = 0; i < kRows; ++i) {
        float wj;
        if constexpr (std::is_same_v<T, float>) {
          wj = rows[i][j];
        } else {
          DecodeHalfSpan(hn::CappedTag<float, 1>(), rows[i] + j, &wj);
        }
        tail[i] += wj * x[j];
      }
    }
    const float sums[kRows] = {
        hn::GetLane(hn::SumOfLanes(df, acc0)), hn::GetLane(hn::SumOfLanes(df, acc1)),
        hn::GetLane(hn::SumOfLanes(df, acc2)), hn::GetLane(hn::SumOfLanes(df, acc3))};
    for (int i = 0; i < nr; ++i) y[r0 + i] = sums[i] + tail[i];
  }
}

void MatvecFastFloat(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                     int64_t row_end) {
  switch (w.type) {
    case TensorType::F16:
      MatvecFastFloatRows<hwy::float16_t>(w, in.x, y, row_begin, row_end);
      break;
    case TensorType::BF16:
      MatvecFastFloatRows<hwy::bfloat16_t>(w, in.x, y, row_begin, row_end);
      break;
    default:
      MatvecFastFloatRows<float>(w, in.x, y, row_begin, row_end);
  }
}

void DecodeFloat(const MatrixView& w, int64_t r, float* out) {
  switch (w.type) {
    case TensorType::F16:
      DecodeHalfRow<hwy::float16_t>(w.row(r), w.cols, out);
      break;
    case TensorType::BF16:
      DecodeHalfRow<hwy::bfloat16_t>(w.row(r), w.cols, out);
      break;
    default:
      std::memcpy(out, w.row(r), static_cast<size_t>(w.cols) * sizeof(float));
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace dsv4::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "simd/matmul_families.h"

namespace dsv4::simd {
HWY_EXPORT(MatmulFloat);
HWY_EXPORT(DecodeFloat);
HWY_EXPORT(MatvecFastFloat);

void matvec_fast_float(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                       int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatvecFastFloat)(w, in, y, row_begin, row_end);
}

void matmul_float(const MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens, float* y,
                  int64_t y_stride, int64_t row_begin, int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatmulFloat)(w, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
}

void decode_float(const MatrixView& w, int64_t r, float* out) {
  HWY_DYNAMIC_DISPATCH(DecodeFloat)(w, r, out);
}
}  // namespace dsv4::simd
#endif
