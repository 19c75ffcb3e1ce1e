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

// Highway's AVX3_DL target guarantees AVX512-VNNI at run time (it requires it to select the
// target) but enables only the VEX AVX-VNNI encoding for the compiler, which Ice Lake and
// Zen 4 lack; the functions that use 512-bit vpdpwssd ask for it.
#undef DSV4_MXFP4_TARGET
#if HWY_TARGET == HWY_AVX3_DL
#define DSV4_MXFP4_TARGET __attribute__((target("avx512vnni")))
#else
#define DSV4_MXFP4_TARGET
#endif

#if HWY_TARGET == HWY_AVX3_DL
// With AVX-512 and VNNI, two rows' blocks share one 512-bit vector. Their 2×16 packed bytes are
// zero-extended to words. vpermw indexes with the low five bits of each word and the table
// holds the 16 values twice, so the words themselves look up the low nibbles (elements 0..15
// of each row) with no masking, and the words shifted right by 4 the high ones (16..31). The
// values come out as signed words, so no byte unpacking is needed, and two vpdpwssd multiply
// them with the block's activations, held once per 256-bit half. Lanes 0..7 carry the first
// row's sums and 8..15 the second's, so the scale vector holds each row's block scale in its
// half. Against one row per 256-bit vector (vpermb, then two unpacks) this issues fewer
// shuffles per row; from memory it measured a few percent faster.
// |v·x| ≤ 12·32767, four per lane: the i32 sums cannot overflow.

// The 16 doubled E2M1 values as words, twice.
HWY_INLINE __m512i RowPairValueTable() {
  HWY_ALIGN int16_t words[32];
  for (int i = 0; i < 32; ++i) words[i] = kMxfp4Values[i & 15];
  return _mm512_load_si512(words);
}

// Activations of one block: elements 0..15 in both 256-bit halves, and 16..31.
struct RowPairActivations {
  __m512i low, high;
};

HWY_INLINE RowPairActivations LoadRowPairActivations(const int16_t* x) {
  return {_mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x))),
          _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 16)))};
}

// acc + (scale_a | scale_b)·x_scale·(a·x | b·x), eight lanes per row.
DSV4_MXFP4_TARGET HWY_INLINE __m512 AddRowPairBlock(const BlockMxfp4& a, const BlockMxfp4& b,
                                                    const RowPairActivations& x, __m512i table,
                                                    const float* half_scale, __m512 x_scale,
                                                    __m512 acc) {
  const __m256i packed = _mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.qs))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)), 1);
  const __m512i words = _mm512_cvtepu8_epi16(packed);
  const __m512i low = _mm512_permutexvar_epi16(words, table);
  const __m512i high = _mm512_permutexvar_epi16(_mm512_srli_epi16(words, 4), table);
  __m512i dot = _mm512_dpwssd_epi32(_mm512_setzero_si512(), low, x.low);
  dot = _mm512_dpwssd_epi32(dot, high, x.high);
  const __m512 scale = _mm512_mask_mov_ps(_mm512_set1_ps(half_scale[a.e]), __mmask16{0xFF00},
                                          _mm512_set1_ps(half_scale[b.e]));
  return _mm512_fmadd_ps(_mm512_mul_ps(scale, x_scale), _mm512_cvtepi32_ps(dot), acc);
}

HWY_INLINE float SumOfHalf(__m512 v, bool upper) {
  const __m256 half = upper ? _mm512_extractf32x8_ps(v, 1) : _mm512_castps512_ps256(v);
  const hn::Full256<float> d;
  return hn::GetLane(hn::SumOfLanes(d, hn::Vec256<float>{half}));
}
#endif

// Four rows at a time share every activation load. The block scale E8M0 × d_x is formed
// where it is used: a separate pass over the stride-17 scale bytes cost a third of the time.
DSV4_MXFP4_TARGET void MatvecFastMxfp4(const MatrixView& w, const PreparedInput& in, float* y,
                                       int64_t row_begin, int64_t row_end) {
  constexpr int kRows = QuarterStreams::kStreams;
  static_assert(kRows == 4, "the accumulators below are written out for four rows");
  static const HalfScaleTable half_scale;
  const int64_t nb = w.cols / kMxfp4Block;
  QuarterStreams streams(w, row_begin, row_end);
#if HWY_TARGET == HWY_AVX3_DL
  const __m512i table = RowPairValueTable();
#else
  const DF df;
#endif
  for (int64_t g = 0; g < streams.groups(); ++g) {
    int64_t row[kRows];
    const int nr = streams.rows(g, row);
    const BlockMxfp4* rows[kRows];
    for (int i = 0; i < kRows; ++i) rows[i] = reinterpret_cast<const BlockMxfp4*>(w.row(row[i]));
#if HWY_TARGET == HWY_AVX3_DL
    __m512 acc01 = _mm512_setzero_ps(), acc23 = acc01;
    for (int64_t b = 0; b < nb; ++b) {
      const int stream = static_cast<int>(b % kRows);
      streams.Advance(stream, reinterpret_cast<const uint8_t*>(rows[stream] + b + 1));
      const RowPairActivations x = LoadRowPairActivations(in.q + b * kMxfp4Block);
      const __m512 x_scale = _mm512_set1_ps(in.q_scale[b]);
      acc01 = AddRowPairBlock(rows[0][b], rows[1][b], x, table, half_scale.value, x_scale, acc01);
      acc23 = AddRowPairBlock(rows[2][b], rows[3][b], x, table, half_scale.value, x_scale, acc23);
    }
    const float sums[kRows] = {SumOfHalf(acc01, false), SumOfHalf(acc01, true),
                               SumOfHalf(acc23, false), SumOfHalf(acc23, true)};
#else
    // Named accumulators: SVE vectors are sizeless and cannot form an array.
    hn::Vec<DF> acc0 = hn::Zero(df), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    for (int64_t b = 0; b < nb; ++b) {
      const int stream = static_cast<int>(b % kRows);
      streams.Advance(stream, reinterpret_cast<const uint8_t*>(rows[stream] + b + 1));
      const int16_t* xb = in.q + b * kMxfp4Block;
      const auto x_scale = hn::Set(df, in.q_scale[b]);
      const auto add_block = [&](int i, hn::Vec<DF> acc) {
        const BlockMxfp4& blk = rows[i][b];
        const auto dot = hn::ConvertTo(df, BlockDotMxfp4(blk, xb));
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
#endif
    for (int i = 0; i < nr; ++i) y[row[i]] = sums[i];
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
