// Per-target helpers of the `fast` matrix–vector kernels: f16 scales to f32, and the int16
// dot product of one 32-element block. Included by each weight family's translation unit.

#if defined(DSV4_SIMD_FAST_KERNELS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef DSV4_SIMD_FAST_KERNELS_INL_H_
#undef DSV4_SIMD_FAST_KERNELS_INL_H_
#else
#define DSV4_SIMD_FAST_KERNELS_INL_H_
#endif

#include "hwy/highway.h"
#include "simd/half.h"

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace dsv4::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// How far ahead of the rows being read the fast kernels prefetch.
constexpr size_t kPrefetchBytes = 16384;

// One f16 → f32 conversion: a single F16C instruction where the target has it.
HWY_INLINE float HalfToFloat(uint16_t h) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  return _cvtsh_ss(h);
#else
  return f16_to_f32(h);
#endif
}

// i16 lanes: up to 32 (one 32-element block), and the i32/f32 tags of the same width.
using D16 = hn::CappedTag<int16_t, 16>;
using D32 = hn::Repartition<int32_t, D16>;
using DF = hn::Repartition<float, D16>;

// Σ w·x over one block of 32 int8 weights `w` and int16 activations `x`, as i32 lanes.
HWY_INLINE hn::Vec<D32> BlockDotI8(const int8_t* w, const int16_t* x) {
  const D16 d16;
  const D32 d32;
  const hn::Rebind<int8_t, D16> d8;
  auto sum0 = hn::Zero(d32), sum1 = hn::Zero(d32);
  for (size_t j = 0; j < 32; j += hn::Lanes(d16))
    sum0 = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::LoadU(d8, w + j)),
                                         hn::LoadU(d16, x + j), sum0, sum1);
  return hn::Add(sum0, sum1);
}

}  // namespace HWY_NAMESPACE
}  // namespace dsv4::simd
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
