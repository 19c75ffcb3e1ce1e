// MXFP4 weights: vector decoder and products.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/matmul_mxfp4.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/cache_control.h"
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

// Σ w·x over one block: the doubled E2M1 values are looked up (low nibbles are elements 0..15,
// high nibbles 16..31) and widened to int16 in registers, then multiplied with the int16
// activations. On AVX2/AVX-512 the 16 packed bytes are loaded into both 128-bit halves, the
// upper half shifted by 4, and one 256-bit byte shuffle yields all 32 values in order. The
// kernel stays on 256-bit vectors on AVX-512 too: measured faster there (more ports can
// issue them, and no 512-bit frequency license).
HWY_INLINE hn::Vec<D32> BlockDotMxfp4(const BlockMxfp4& blk, const int16_t* x) {
  const D32 d32;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  const hn::Full256<uint8_t> du8;
  const hn::Full256<int8_t> d8;
  const auto bytes = hn::LoadDup128(du8, blk.qs);
  const auto shifted =
      hn::BitCast(du8, hn::ShiftRight<4>(hn::BitCast(hn::Full256<uint16_t>(), bytes)));
  const auto nibbles =
      hn::And(hn::ConcatUpperLower(du8, shifted, bytes), hn::Set(du8, uint8_t{0x0F}));
  const auto values =
      hn::TableLookupBytes(hn::LoadDup128(d8, kMxfp4Values), hn::BitCast(d8, nibbles));
  const hn::Full256<int16_t> d16;
  const hn::Full128<int8_t> d8h;
  auto s1a = hn::Zero(d32), s1b = hn::Zero(d32);
  auto sum = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::LowerHalf(d8h, values)),
                                           hn::LoadU(d16, x), hn::Zero(d32), s1a);
  sum = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::UpperHalf(d8h, values)),
                                      hn::LoadU(d16, x + 16), sum, s1b);
  return hn::Add(sum, hn::Add(s1a, s1b));
#else
  const hn::Full128<int8_t> d8;
  const hn::Full128<uint8_t> du8;
  const hn::Full128<int16_t> d16;
  const hn::Full64<int8_t> d8h;
  const auto table = hn::LoadU(d8, kMxfp4Values);
  const auto packed = hn::LoadU(du8, blk.qs);
  const auto lo =
      hn::TableLookupBytes(table, hn::BitCast(d8, hn::And(packed, hn::Set(du8, uint8_t{0x0F}))));
  const auto hi = hn::TableLookupBytes(table, hn::BitCast(d8, hn::ShiftRight<4>(packed)));
  auto s1 = hn::Zero(d32);
  auto sum = hn::Zero(d32);
  sum = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::LowerHalf(d8h, lo)),
                                      hn::LoadU(d16, x), sum, s1);
  sum = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::UpperHalf(d8h, lo)),
                                      hn::LoadU(d16, x + 8), sum, s1);
  sum = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::LowerHalf(d8h, hi)),
                                      hn::LoadU(d16, x + 16), sum, s1);
  sum = hn::ReorderWidenMulAccumulate(d32, hn::PromoteTo(d16, hn::UpperHalf(d8h, hi)),
                                      hn::LoadU(d16, x + 24), sum, s1);
  return hn::Add(sum, s1);
#endif
}

// 2^(e-128) for every E8M0 byte: the halved scale of ggml's doubled table.
struct HalfScaleTable {
  float value[256];
  HalfScaleTable() {
    for (int e = 0; e < 256; ++e) value[e] = e8m0_to_f32_half(static_cast<uint8_t>(e));
  }
};

#if HWY_TARGET == HWY_AVX3_DL
// With VBMI and VNNI, one block costs eight instructions. A per-word variable shift puts the
// low nibbles (elements 0..15) in the lower 128 bits and the high nibbles (16..31) in the
// upper; vpermb looks the values up using the low five index bits (the 16 values are stored
// twice, so the neighbouring nibble's bit that the shift brings in does not matter).
// Interleaving the values with zero bytes makes int16 words v·256 without sign extension;
// two vpdpwssd multiply them with activations ordered to match (PairedActivations).
// |v·256·x| ≤ 3072·32767, four per lane: the i32 sums cannot overflow. The 256 is taken out
// of the block scale.
constexpr float kVnniWordScale = 1.0f / 256.0f;

struct PairedActivations {
  __m256i low, high;  // elements 0..7,16..23 and 8..15,24..31 of a block
};

HWY_INLINE PairedActivations PairActivations(const int16_t* x) {
  const __m256i first = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  const __m256i second = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 16));
  return {_mm256_permute2x128_si256(first, second, 0x20),
          _mm256_permute2x128_si256(first, second, 0x31)};
}

HWY_INLINE __m256 BlockDotMxfp4Vnni(const BlockMxfp4& blk, const PairedActivations& x,
                                    __m256i table, __m256i shifts) {
  const __m256i bytes =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.qs)));
  const __m256i values = _mm256_permutexvar_epi8(_mm256_srlv_epi16(bytes, shifts), table);
  const __m256i zero = _mm256_setzero_si256();
  __m256i dot = _mm256_dpwssd_epi32(zero, _mm256_unpacklo_epi8(zero, values), x.low);
  dot = _mm256_dpwssd_epi32(dot, _mm256_unpackhi_epi8(zero, values), x.high);
  return _mm256_cvtepi32_ps(dot);
}
#endif

// Four rows at a time share every activation load. The block scale E8M0 × d_x is formed
// where it is used: a separate pass over the stride-17 scale bytes cost a third of the time.
void MatvecFastMxfp4(const MatrixView& w, const PreparedInput& in, float* y, int64_t row_begin,
                     int64_t row_end) {
  constexpr int kRows = 4;
  static const HalfScaleTable half_scale;
  const DF df;
  const int64_t nb = w.cols / kMxfp4Block;
#if HWY_TARGET == HWY_AVX3_DL
  const __m256i table =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kMxfp4Values)));
  const __m256i shifts = _mm256_setr_epi16(0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4);
  const float x_scale_factor = kVnniWordScale;
#else
  const float x_scale_factor = 1.0f;
#endif
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, row_end - r0));
    const BlockMxfp4* rows[kRows];
    for (int i = 0; i < kRows; ++i)
      rows[i] = reinterpret_cast<const BlockMxfp4*>(w.row(r0 + (i < nr ? i : 0)));
    // Named accumulators: SVE vectors are sizeless and cannot form an array.
    hn::Vec<DF> acc0 = hn::Zero(df), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (int64_t b = 0; b < nb; ++b) {
      // Four row streams at once are more than the hardware prefetchers keep ahead of.
      if ((b & 3) == 0)
        for (int i = 0; i < kRows; ++i)
          hwy::Prefetch(reinterpret_cast<const uint8_t*>(rows[i] + b) + kPrefetchBytes);
      const int16_t* xb = in.q + b * kMxfp4Block;
      const auto x_scale = hn::Set(df, in.q_scale[b] * x_scale_factor);
#if HWY_TARGET == HWY_AVX3_DL
      const PairedActivations x = PairActivations(xb);
#endif
      const auto add_block = [&](int i, hn::Vec<DF> acc) {
        const BlockMxfp4& blk = rows[i][b];
#if HWY_TARGET == HWY_AVX3_DL
        const hn::Vec<DF> dot{BlockDotMxfp4Vnni(blk, x, table, shifts)};
#else
        const auto dot = hn::ConvertTo(df, BlockDotMxfp4(blk, xb));
#endif
        return hn::MulAdd(hn::Mul(hn::Set(df, half_scale.value[blk.e]), x_scale), dot, acc);
      };
      acc0 = add_block(0, acc0);
      acc1 = add_block(1, acc1);
      acc2 = add_block(2, acc2);
      acc3 = add_block(3, acc3);
    }
    const float sums[kRows] = {
        hn::GetLane(hn::SumOfLanes(df, acc0)), hn::GetLane(hn::SumOfLanes(df, acc1)),
        hn::GetLane(hn::SumOfLanes(df, acc2)), hn::GetLane(hn::SumOfLanes(df, acc3))};
    for (int i = 0; i < nr; ++i) y[r0 + i] = sums[i];
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
