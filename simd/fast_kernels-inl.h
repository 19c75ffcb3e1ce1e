// Per-target helpers of the `fast` matrix–vector kernels: f16 scales to f32, and the int16
// dot product of one 32-element block. Included by each weight family's translation unit.

#if defined(DSV4_SIMD_FAST_KERNELS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef DSV4_SIMD_FAST_KERNELS_INL_H_
#undef DSV4_SIMD_FAST_KERNELS_INL_H_
#else
#define DSV4_SIMD_FAST_KERNELS_INL_H_
#endif

#include <algorithm>
#include <cstdint>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "simd/half.h"
#include "simd/matmul.h"

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace dsv4::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// How far ahead of each row stream the fast kernels prefetch, into L1. Four streams times this
// must stay well inside L1d (48 KiB here): at 16 KiB the prefetched lines were evicted before
// use. Flash-slice decode, 2 threads, alternating runs (tok/s): 16 KiB 10.5, 8 KiB 11.0,
// 4 KiB 11.8, 2 KiB 11.6-12.3, 1 KiB 11.9, no software prefetch 10.6.
constexpr size_t kPrefetchBytes = 1024;

// Software prefetch over one contiguous weight region, kPrefetchBytes ahead of the read
// position, one cache line at a time so that no line is skipped or fetched twice.
class RegionPrefetcher {
 public:
  RegionPrefetcher() = default;
  RegionPrefetcher(const uint8_t* begin, const uint8_t* end)
      : next_(reinterpret_cast<uintptr_t>(begin)), end_(reinterpret_cast<uintptr_t>(end)) {}

  // Prefetches the lines up to `position` + kPrefetchBytes (within the region). At most
  // kMaxLinesPerStep per call, so the start of a region does not issue a burst of hundreds.
  HWY_INLINE void Advance(const uint8_t* position) {
    const uintptr_t target = std::min(reinterpret_cast<uintptr_t>(position) + kPrefetchBytes, end_);
    for (int n = 0; n < kMaxLinesPerStep && next_ < target; ++n, next_ += kLineBytes)
      hwy::Prefetch(reinterpret_cast<const uint8_t*>(next_));
  }

 private:
  static constexpr uintptr_t kLineBytes = 64;
  static constexpr int kMaxLinesPerStep = 4;
  uintptr_t next_ = 0;
  uintptr_t end_ = 0;
};

// The rows of [begin, end) taken four at a time, one from each quarter of the range, then the
// last rows % 4 as a short group. Row g of a quarter is followed in memory by row g + 1, so
// each of the four positions reads one long linear stream that the hardware prefetchers
// follow. Four adjacent rows instead make four short streams interleaved within the same
// pages: on the MXFP4 expert shape (one thread) that ran at under a third of the read
// bandwidth without software prefetch, and ~8% slower than the quarters with it (both with the
// earlier 16 KiB distance). Each row's sum is formed exactly as before, so results do not
// depend on the grouping.
class QuarterStreams {
 public:
  static constexpr int kStreams = 4;

  QuarterStreams(const MatrixView& w, int64_t begin, int64_t end)
      : begin_(begin), quarter_((end - begin) / kStreams), end_(end) {
    for (int i = 0; i < kStreams; ++i)
      prefetchers_[i] =
          RegionPrefetcher(w.row(begin + i * quarter_), w.row(begin + (i + 1) * quarter_));
  }

  int64_t groups() const { return quarter_ + (tail_begin() < end_ ? 1 : 0); }

  // The rows of group g (the short group repeats its first row) and how many are real.
  HWY_INLINE int rows(int64_t g, int64_t row[kStreams]) const {
    if (g < quarter_) {
      for (int i = 0; i < kStreams; ++i) row[i] = begin_ + i * quarter_ + g;
      return kStreams;
    }
    const int count = static_cast<int>(end_ - tail_begin());
    for (int i = 0; i < kStreams; ++i) row[i] = tail_begin() + (i < count ? i : 0);
    return count;
  }

  // Prefetch ahead of stream i, which has been read up to `position`. Kernels advance one
  // stream per block step in turn: four calls per step cost ~10% of the MXFP4 kernel's time.
  HWY_INLINE void Advance(int i, const uint8_t* position) { prefetchers_[i].Advance(position); }

 private:
  int64_t tail_begin() const { return begin_ + kStreams * quarter_; }

  int64_t begin_, quarter_, end_;
  RegionPrefetcher prefetchers_[kStreams];
};

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
