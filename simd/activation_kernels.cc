// Vector kernels of the exp-based activations (SwiGLU, softmax numerators).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/activation_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "simd/activation.h"

HWY_BEFORE_NAMESPACE();
namespace dsv4::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// e^x of float lanes computed in double and rounded once, which gives the correctly rounded
// float but in near-ties. glibc's expf (used before) differs from it in about 6 of 10,000
// inputs, by one ulp, and there it is the less accurate of the two.
using FloatTag = hn::Rebind<float, hn::ScalableTag<double>>;

template <class V>
V ExpViaDouble(V x) {
  const hn::ScalableTag<double> dd;
  const FloatTag df;
  return hn::DemoteTo(df, hn::Exp(dd, hn::PromoteTo(dd, x)));
}

template <class V>
V SwigluVector(V gate, V up, V clamp, V scale) {
  const FloatTag df;
  const V g = hn::Min(gate, clamp);
  const V u = hn::Min(hn::Max(up, hn::Neg(clamp)), clamp);
  // e = e^(−|g|) ≤ 1 never overflows; σ(g) = 1/(1+e) for g ≥ 0 and e/(1+e) below.
  const V e = ExpViaDouble(hn::Neg(hn::Abs(g)));
  const V one = hn::Set(df, 1.0f);
  const V sigma = hn::Div(hn::IfThenElse(hn::Ge(g, hn::Zero(df)), one, e), hn::Add(one, e));
  return hn::Mul(hn::Mul(hn::Mul(g, sigma), u), scale);
}

void Swiglu(const float* gate, const float* up, int64_t n, float clamp, float scale, float* out) {
  const FloatTag df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const auto vclamp = hn::Set(df, clamp), vscale = hn::Set(df, scale);
  int64_t i = 0;
  for (; i + N <= n; i += N)
    hn::StoreU(SwigluVector(hn::LoadU(df, gate + i), hn::LoadU(df, up + i), vclamp, vscale), df,
               out + i);
  if (i == n) return;
  // The tail goes through the same vector arithmetic, so every element is computed alike.
  HWY_ALIGN float g[HWY_MAX_BYTES / sizeof(float)] = {}, u[HWY_MAX_BYTES / sizeof(float)] = {};
  for (int64_t j = i; j < n; ++j) {
    g[j - i] = gate[j];
    u[j - i] = up[j];
  }
  HWY_ALIGN float o[HWY_MAX_BYTES / sizeof(float)];
  hn::Store(SwigluVector(hn::Load(df, g), hn::Load(df, u), vclamp, vscale), df, o);
  for (int64_t j = i; j < n; ++j) out[j] = o[j - i];
}

float ExpShiftedSum(float* x, int64_t n, float shift) {
  const FloatTag df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const auto vshift = hn::Set(df, shift);
  auto sum = hn::Zero(df);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto e = ExpViaDouble(hn::Sub(hn::LoadU(df, x + i), vshift));
    hn::StoreU(e, df, x + i);
    sum = hn::Add(sum, e);
  }
  if (i < n) {
    HWY_ALIGN float t[HWY_MAX_BYTES / sizeof(float)];
    hn::Store(vshift, df, t);
    for (int64_t j = i; j < n; ++j) t[j - i] = x[j];
    const auto e = hn::IfThenElseZero(hn::FirstN(df, static_cast<size_t>(n - i)),
                                      ExpViaDouble(hn::Sub(hn::Load(df, t), vshift)));
    hn::Store(e, df, t);
    for (int64_t j = i; j < n; ++j) x[j] = t[j - i];
    sum = hn::Add(sum, e);
  }
  return hn::GetLane(hn::SumOfLanes(df, sum));
}

}  // namespace HWY_NAMESPACE
}  // namespace dsv4::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace dsv4::simd {
HWY_EXPORT(Swiglu);
HWY_EXPORT(ExpShiftedSum);

void swiglu(const float* gate, const float* up, int64_t n, float clamp, float scale, float* out) {
  HWY_DYNAMIC_DISPATCH(Swiglu)(gate, up, n, clamp, scale, out);
}

float exp_shifted_sum(float* x, int64_t n, float shift) {
  return HWY_DYNAMIC_DISPATCH(ExpShiftedSum)(x, n, shift);
}

}  // namespace dsv4::simd
#endif
