// Vector kernels of the attention core.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/attention_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "simd/attention.h"

HWY_BEFORE_NAMESPACE();
namespace dsv4::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Blocks of 4 heads × 4 vectors of columns: each row's 4 vectors are loaded once and feed 16
// accumulators. Every output element sums its rows in index order.
void WeightedRowSum(const float* weights, int64_t n_heads, const float* rows, int64_t n_rows,
                    int64_t dim, float* out) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  constexpr int kHeads = 4, kVecs = 4;
  for (int64_t h0 = 0; h0 < n_heads; h0 += kHeads) {
    const int nh = static_cast<int>(std::min<int64_t>(kHeads, n_heads - h0));
    int64_t c = 0;
    for (; c + kVecs * N <= dim; c += kVecs * N) {
#if HWY_HAVE_SCALABLE
      // SVE vectors are sizeless and cannot form arrays: one head at a time, in named
      // accumulators, summing the rows in the same order.
      static_assert(kVecs == 4, "four vectors of columns");
      for (int64_t h = h0; h < h0 + nh; ++h) {
        hn::Vec<decltype(d)> acc0 = hn::Zero(d), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int64_t i = 0; i < n_rows; ++i) {
          const auto p = hn::Set(d, weights[h * n_rows + i]);
          const float* row = rows + i * dim + c;
          acc0 = hn::MulAdd(p, hn::LoadU(d, row), acc0);
          acc1 = hn::MulAdd(p, hn::LoadU(d, row + N), acc1);
          acc2 = hn::MulAdd(p, hn::LoadU(d, row + 2 * N), acc2);
          acc3 = hn::MulAdd(p, hn::LoadU(d, row + 3 * N), acc3);
        }
        float* o = out + h * dim + c;
        hn::StoreU(acc0, d, o);
        hn::StoreU(acc1, d, o + N);
        hn::StoreU(acc2, d, o + 2 * N);
        hn::StoreU(acc3, d, o + 3 * N);
      }
#else
      hn::Vec<decltype(d)> acc[kHeads][kVecs];
      for (int h = 0; h < kHeads; ++h)
        for (int v = 0; v < kVecs; ++v) acc[h][v] = hn::Zero(d);
      for (int64_t i = 0; i < n_rows; ++i) {
        hn::Vec<decltype(d)> k[kVecs];
        for (int v = 0; v < kVecs; ++v) k[v] = hn::LoadU(d, rows + i * dim + c + v * N);
        for (int h = 0; h < kHeads; ++h) {
          const auto p = hn::Set(d, weights[(h0 + (h < nh ? h : 0)) * n_rows + i]);
          for (int v = 0; v < kVecs; ++v) acc[h][v] = hn::MulAdd(p, k[v], acc[h][v]);
        }
      }
      for (int h = 0; h < nh; ++h)
        for (int v = 0; v < kVecs; ++v) hn::StoreU(acc[h][v], d, out + (h0 + h) * dim + c + v * N);
#endif
    }
    for (; c < dim; ++c) {
      for (int h = 0; h < nh; ++h) {
        float acc = 0;
        for (int64_t i = 0; i < n_rows; ++i)
          acc += weights[(h0 + h) * n_rows + i] * rows[i * dim + c];
        out[(h0 + h) * dim + c] = acc;
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace dsv4::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace dsv4::simd {
HWY_EXPORT(WeightedRowSum);

void weighted_row_sum(const float* weights, int64_t n_heads, const float* rows, int64_t n_rows,
                      int64_t dim, float* out) {
  HWY_DYNAMIC_DISPATCH(WeightedRowSum)(weights, n_heads, rows, n_rows, dim, out);
}
}  // namespace dsv4::simd
#endif
