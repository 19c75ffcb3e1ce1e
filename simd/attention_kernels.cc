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
