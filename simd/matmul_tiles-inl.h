// Per-target f32 tile kernels shared by every weight family's translation unit. A family
// supplies a decoder (row → f32, exact); the driver decodes a panel of rows once and reuses
// it for every token. Each (row, token) pair is summed in one accumulator vector, in the
// same order whatever the tile shape, so GEMV and GEMM agree bit for bit.

// Per-target include guard (Highway convention for -inl.h files).
#if defined(DSV4_SIMD_MATMUL_TILES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef DSV4_SIMD_MATMUL_TILES_INL_H_
#undef DSV4_SIMD_MATMUL_TILES_INL_H_
#else
#define DSV4_SIMD_MATMUL_TILES_INL_H_
#endif

#include <algorithm>
#include <cstring>
#include <vector>

#include "hwy/highway.h"
#include "simd/matmul.h"
#include "simd/thread_scratch.h"

HWY_BEFORE_NAMESPACE();
namespace dsv4::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Rows decoded per panel and tokens per tile. Fixed per target so that register pressure
// stays within 16 vector registers (SSE4/AVX2) or 32 (AVX-512, NEON, SVE).
constexpr int kPanelRows = 4;
constexpr int kTileTokens = (HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3) ? 2 : 4;
constexpr int kGemvRows = 8;

// Loads `count` (< lanes) floats followed by zeros without reading past `p + count`.
template <class D>
HWY_INLINE hn::Vec<D> LoadTail(D d, const float* p, size_t count) {
  HWY_ALIGN float buf[hn::MaxLanes(d)];
  std::memset(buf, 0, sizeof buf);
  std::memcpy(buf, p, count * sizeof(float));
  return hn::Load(d, buf);
}

// Dot products of NR weight rows with NT activation rows over `k` elements; results go to
// out[r * NT + t]. Missing rows/tokens are passed as duplicates by the caller.
#if HWY_HAVE_SCALABLE
// SVE vectors are sizeless and cannot form arrays: each token meets four rows at a time in
// named accumulators, every pair summed in the same order as the tiled version below.
template <int NR, int NT>
HWY_INLINE void DotTile(const float* const* w, const float* const* x, int64_t k, float* out) {
  static_assert(NR % 4 == 0, "rows come in fours");
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d), n = static_cast<size_t>(k);
  for (int t = 0; t < NT; ++t)
    for (int r = 0; r < NR; r += 4) {
      hn::Vec<decltype(d)> acc0 = hn::Zero(d), acc1 = acc0, acc2 = acc0, acc3 = acc0;
      size_t i = 0;
      for (; i + N <= n; i += N) {
        const auto xv = hn::LoadU(d, x[t] + i);
        acc0 = hn::MulAdd(hn::LoadU(d, w[r] + i), xv, acc0);
        acc1 = hn::MulAdd(hn::LoadU(d, w[r + 1] + i), xv, acc1);
        acc2 = hn::MulAdd(hn::LoadU(d, w[r + 2] + i), xv, acc2);
        acc3 = hn::MulAdd(hn::LoadU(d, w[r + 3] + i), xv, acc3);
      }
      if (i < n) {
        const size_t rem = n - i;
        const auto xv = LoadTail(d, x[t] + i, rem);
        acc0 = hn::MulAdd(LoadTail(d, w[r] + i, rem), xv, acc0);
        acc1 = hn::MulAdd(LoadTail(d, w[r + 1] + i, rem), xv, acc1);
        acc2 = hn::MulAdd(LoadTail(d, w[r + 2] + i, rem), xv, acc2);
        acc3 = hn::MulAdd(LoadTail(d, w[r + 3] + i, rem), xv, acc3);
      }
      out[r * NT + t] = hn::GetLane(hn::SumOfLanes(d, acc0));
      out[(r + 1) * NT + t] = hn::GetLane(hn::SumOfLanes(d, acc1));
      out[(r + 2) * NT + t] = hn::GetLane(hn::SumOfLanes(d, acc2));
      out[(r + 3) * NT + t] = hn::GetLane(hn::SumOfLanes(d, acc3));
    }
}
#else
template <int NR, int NT>
HWY_INLINE void DotTile(const float* const* w, const float* const* x, int64_t k, float* out) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  hn::Vec<decltype(d)> acc[NR][NT];
  for (int r = 0; r < NR; ++r)
    for (int t = 0; t < NT; ++t) acc[r][t] = hn::Zero(d);
  size_t i = 0;
  for (; i + N <= static_cast<size_t>(k); i += N) {
    hn::Vec<decltype(d)> xv[NT];
    for (int t = 0; t < NT; ++t) xv[t] = hn::LoadU(d, x[t] + i);
    for (int r = 0; r < NR; ++r) {
      const auto wv = hn::LoadU(d, w[r] + i);
      for (int t = 0; t < NT; ++t) acc[r][t] = hn::MulAdd(wv, xv[t], acc[r][t]);
    }
  }
  if (i < static_cast<size_t>(k)) {
    const size_t rem = static_cast<size_t>(k) - i;
    hn::Vec<decltype(d)> xv[NT];
    for (int t = 0; t < NT; ++t) xv[t] = LoadTail(d, x[t] + i, rem);
    for (int r = 0; r < NR; ++r) {
      const auto wv = LoadTail(d, w[r] + i, rem);
      for (int t = 0; t < NT; ++t) acc[r][t] = hn::MulAdd(wv, xv[t], acc[r][t]);
    }
  }
  for (int r = 0; r < NR; ++r)
    for (int t = 0; t < NT; ++t) out[r * NT + t] = hn::GetLane(hn::SumOfLanes(d, acc[r][t]));
}
#endif

// `decode(row_ptr, out)` writes the w.cols floats of one row.
template <int NR, class Decode>
HWY_INLINE void MatmulRows(const MatrixView& w, Decode decode, const float* x, int64_t x_stride,
                           int64_t n_tokens, float* y, int64_t y_stride, int64_t row_begin,
                           int64_t row_end) {
  const int64_t k = w.cols;
  const bool direct = w.type == TensorType::F32;  // f32 rows need no panel
  float* panel = direct ? nullptr : decode_panel(static_cast<size_t>(NR * k));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += NR) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, row_end - r0));
    const float* rows[NR];
    for (int i = 0; i < NR; ++i) {
      const int src = i < nr ? i : 0;
      if (direct) {
        rows[i] = reinterpret_cast<const float*>(w.row(r0 + src));
      } else {
        if (i < nr) decode(w.row(r0 + i), panel + static_cast<size_t>(i) * k);
        rows[i] = panel + static_cast<size_t>(src) * k;
      }
    }
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTileTokens) {
      const int nt = static_cast<int>(std::min<int64_t>(kTileTokens, n_tokens - t0));
      float out[NR * kTileTokens];
      if (nt == 1) {
        const float* xs[1] = {x + t0 * x_stride};
        DotTile<NR, 1>(rows, xs, k, out);
        for (int i = 0; i < nr; ++i) y[t0 * y_stride + r0 + i] = out[i];
        continue;
      }
      const float* xs[kTileTokens];
      for (int t = 0; t < kTileTokens; ++t) xs[t] = x + (t0 + (t < nt ? t : 0)) * x_stride;
      DotTile<NR, kTileTokens>(rows, xs, k, out);
      for (int i = 0; i < nr; ++i)
        for (int t = 0; t < nt; ++t) y[(t0 + t) * y_stride + r0 + i] = out[i * kTileTokens + t];
    }
  }
}

// Entry used by every family: picks the GEMV row tile for a single token.
template <class Decode>
HWY_INLINE void MatmulWithDecoder(const MatrixView& w, Decode decode, const float* x,
                                  int64_t x_stride, int64_t n_tokens, float* y, int64_t y_stride,
                                  int64_t row_begin, int64_t row_end) {
  if (n_tokens == 1) {
    MatmulRows<kGemvRows>(w, decode, x, x_stride, 1, y, y_stride, row_begin, row_end);
  } else {
    MatmulRows<kPanelRows>(w, decode, x, x_stride, n_tokens, y, y_stride, row_begin, row_end);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace dsv4::simd
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
