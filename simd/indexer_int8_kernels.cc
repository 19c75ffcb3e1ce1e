// Vector kernels of the exact FP4 scores (simd/indexer_int8.h). Each vector lane holds one key
// row of a tile; a query head's 4-code groups are broadcast against the tile's 4-code groups,
// so no horizontal sums are needed. Block sums are exact integers on every target: int16
// multiply–add pairs (ReorderWidenMulAccumulate), or on AVX3_DL the unsigned × signed int8 dot
// instruction (VPDPBUSD, which Highway 1.0.3 does not wrap) with biased query codes.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/indexer_int8_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cstring>

#include "hwy/highway.h"
#include "simd/fp4_codes.h"
#include "simd/indexer_int8.h"

#if HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace dsv4::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Highway's AVX3_DL target guarantees AVX512-VNNI at run time (it requires it to select the
// target) but does not enable it for the compiler; the functions that use it ask for it.
#undef DSV4_FP4_VNNI
#undef DSV4_FP4_TARGET
#if HWY_TARGET == HWY_AVX3_DL
#define DSV4_FP4_VNNI 1
#define DSV4_FP4_TARGET __attribute__((target("avx512vnni")))
#else
#define DSV4_FP4_VNNI 0
#define DSV4_FP4_TARGET
#endif

#if HWY_HAVE_SCALABLE
// SVE vectors are sizeless and cannot form the per-row-group arrays these kernels keep, so
// the SVE targets run the scalar references (exact: the same bits as every vector target).
void Fp4Scores(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin, int64_t row_end,
               float* scores, int64_t score_stride) {
  fp4_scores_reference(q, tiles, row_begin, row_end, scores, score_stride);
}

void Fp4Totals(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin, int64_t row_end,
               const float* weights, float* totals) {
  fp4_totals_reference(q, tiles, row_begin, row_end, weights, totals);
}
#else
// One i32/f32 lane per key row, at most a tile's 16 rows per vector.
using D32 = hn::CappedTag<int32_t, kKeyTileRows>;
using DF = hn::Repartition<float, D32>;
using D16 = hn::Repartition<int16_t, D32>;
constexpr int kMaxBlocks = kMaxFp4Dim / kFp4Block;
constexpr int kGroupBytes = 4 * kKeyTileRows;  // one 4-column group of a tile

// What every head's pass over a tile shares, prepared once per tile.
struct TileKeys {
  alignas(64) float scale[kMaxBlocks][kKeyTileRows];   // 2^e of each row, per block
#if DSV4_FP4_VNNI
  const uint8_t* codes;                                // the tile's int8 codes, read in place
  alignas(64) int32_t bias[kMaxBlocks][kKeyTileRows];  // kFp4CodeBias · Σ codes, per block
#else
  // The codes widened to int16, in the tile's layout (the int16 multiply–add reads them).
  alignas(64) int16_t codes16[kMaxFp4Dim / 4][kGroupBytes];
#endif
};

DSV4_FP4_TARGET HWY_INLINE void PrepareTile(const uint8_t* tile, int dim, TileKeys& k) {
  const D32 d32;
  const DF df;
  const hn::Rebind<int8_t, D32> d8;
  const int N = static_cast<int>(hn::Lanes(d32));
  const int nb = dim / kFp4Block;
  const auto* exponents = reinterpret_cast<const int8_t*>(tile) + dim * kKeyTileRows;
  for (int b = 0; b < nb; ++b)
    for (int r = 0; r < kKeyTileRows; r += N) {
      const auto index = hn::Add(
          hn::PromoteTo(d32, hn::LoadU(d8, exponents + b * kKeyTileRows + r)), hn::Set(d32, 128));
      hn::Store(hn::GatherIndex(df, kFp4Scales.data(), index), df, &k.scale[b][r]);
    }
#if DSV4_FP4_VNNI
  k.codes = tile;
  const __m512i ones = _mm512_set1_epi8(1);
  for (int b = 0; b < nb; ++b) {
    __m512i sum = _mm512_setzero_si512();
    for (int g = 0; g < kFp4Block / 4; ++g)
      sum = _mm512_dpbusd_epi32(sum, ones,
                                _mm512_loadu_si512(tile + (b * kFp4Block / 4 + g) * kGroupBytes));
    _mm512_store_si512(k.bias[b], _mm512_mullo_epi32(sum, _mm512_set1_epi32(kFp4CodeBias)));
  }
#else
  const D16 d16;
  const hn::Rebind<int8_t, D16> d8w;
  const int N16 = static_cast<int>(hn::Lanes(d16));
  for (int g = 0; g < dim / 4; ++g)
    for (int j = 0; j < kGroupBytes; j += N16)
      hn::Store(hn::PromoteTo(d16, hn::LoadU(d8w, reinterpret_cast<const int8_t*>(tile) +
                                                      g * kGroupBytes + j)),
                d16, &k.codes16[g][j]);
#endif
}

// S_b of head h against the tile's rows, rows [v·N, v·N + N) in dot[v].
DSV4_FP4_TARGET HWY_INLINE void BlockDot(const Fp4Queries& q, int h, int b, const TileKeys& k,
                                         hn::Vec<D32>* dot) {
  const D32 d32;
  const size_t first = static_cast<size_t>(h) * q.dim + b * kFp4Block;
#if DSV4_FP4_VNNI
  // Σ (c_q + 12)·c_k − 12·Σ c_k, four products per lane and instruction.
  const uint8_t* qb = q.biased.data() + first;
  const uint8_t* kb = k.codes + b * (kFp4Block / 4) * kGroupBytes;
  __m512i acc = _mm512_setzero_si512();
  for (int g = 0; g < kFp4Block / 4; ++g) {
    uint32_t group;
    std::memcpy(&group, qb + 4 * g, sizeof group);
    acc = _mm512_dpbusd_epi32(acc, _mm512_set1_epi32(static_cast<int>(group)),
                              _mm512_loadu_si512(kb + g * kGroupBytes));
  }
  dot[0] = hn::Sub(hn::Vec<D32>{acc}, hn::Load(d32, k.bias[b]));
#else
  // Each int16 vector holds the 4-code groups of N/2 rows, so a lane pair sums one row's
  // group; ConcatEven + ConcatOdd then add the pairs into one lane per row.
  const D16 d16;
  const hn::Repartition<uint64_t, D16> d64;
  constexpr int kMaxParts = 2 * kKeyTileRows;
  const int N = static_cast<int>(hn::Lanes(d32));
  const int parts = 2 * kKeyTileRows / N;
  hn::Vec<D32> sum0[kMaxParts], sum1[kMaxParts];
  for (int p = 0; p < parts; ++p) sum0[p] = sum1[p] = hn::Zero(d32);
  const int16_t* qb = q.codes16.data() + first;
  for (int g = 0; g < kFp4Block / 4; ++g) {
    uint64_t group;
    std::memcpy(&group, qb + 4 * g, sizeof group);
    const auto qv = hn::BitCast(d16, hn::Set(d64, group));
    const int16_t* kg = k.codes16[b * (kFp4Block / 4) + g];
    for (int p = 0; p < parts; ++p)
      sum0[p] =
          hn::ReorderWidenMulAccumulate(d32, hn::Load(d16, kg + p * 2 * N), qv, sum0[p], sum1[p]);
  }
  for (int v = 0; v < parts / 2; ++v) {
    const auto lo = hn::RearrangeToOddPlusEven(sum0[2 * v], sum1[2 * v]);
    const auto hi = hn::RearrangeToOddPlusEven(sum0[2 * v + 1], sum1[2 * v + 1]);
    dot[v] = hn::Add(hn::ConcatEven(d32, hi, lo), hn::ConcatOdd(d32, hi, lo));
  }
#endif
}

// Scores of rows [row_begin, row_end), tile by tile: per head, the blocks in ascending order;
// then either each head's scores are stored (kTotals false) or Σ_h max(score, 0)·w_h is.
template <bool kTotals>
DSV4_FP4_TARGET HWY_INLINE void ScoreRows(const Fp4Queries& q, const uint8_t* tiles,
                                          int64_t row_begin, int64_t row_end, const float* weights,
                                          float* out, int64_t stride) {
  const DF df;
  const int N = static_cast<int>(hn::Lanes(df));
  const int vecs = kKeyTileRows / N;
  const int nb = q.dim / kFp4Block;
  const size_t tile_bytes = key_tile_bytes(q.dim);
  alignas(64) float rows[kKeyTileRows];
  for (int64_t t = row_begin / kKeyTileRows; t * kKeyTileRows < row_end; ++t) {
    const uint8_t* tile = tiles + static_cast<size_t>(t) * tile_bytes;
    const int64_t first = t * kKeyTileRows;
    // The tile's rows that are in the range.
    const int64_t r0 = std::max(row_begin, first) - first;
    const int64_t r1 = std::min(row_end, first + kKeyTileRows) - first;
    TileKeys k;
    PrepareTile(tile, q.dim, k);
    hn::Vec<DF> total[kKeyTileRows];
    for (int v = 0; v < vecs; ++v) total[v] = hn::Zero(df);
    for (int h = 0; h < q.heads; ++h) {
      hn::Vec<DF> score[kKeyTileRows];
      for (int v = 0; v < vecs; ++v) score[v] = hn::Zero(df);
      for (int b = 0; b < nb; ++b) {
        hn::Vec<D32> dot[kKeyTileRows];
        BlockDot(q, h, b, k, dot);
        const auto q_scale = hn::Set(df, q.scales[static_cast<size_t>(h) * nb + b]);
        for (int v = 0; v < vecs; ++v) {
          const auto scale = hn::Mul(hn::Load(df, &k.scale[b][v * N]), q_scale);
          score[v] = hn::Add(score[v], hn::Mul(hn::ConvertTo(df, dot[v]), scale));
        }
      }
      if constexpr (kTotals) {
        const auto w = hn::Set(df, weights[h]);
        for (int v = 0; v < vecs; ++v)
          total[v] = hn::Add(total[v], hn::Mul(hn::Max(score[v], hn::Zero(df)), w));
      } else {
        for (int v = 0; v < vecs; ++v) hn::Store(score[v], df, rows + v * N);
        std::copy(rows + r0, rows + r1, out + h * stride + first + r0);
      }
    }
    if constexpr (kTotals) {
      for (int v = 0; v < vecs; ++v) hn::Store(total[v], df, rows + v * N);
      std::copy(rows + r0, rows + r1, out + first + r0);
    }
  }
}

DSV4_FP4_TARGET void Fp4Scores(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin,
                               int64_t row_end, float* scores, int64_t score_stride) {
  ScoreRows<false>(q, tiles, row_begin, row_end, nullptr, scores, score_stride);
}

DSV4_FP4_TARGET void Fp4Totals(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin,
                               int64_t row_end, const float* weights, float* totals) {
  ScoreRows<true>(q, tiles, row_begin, row_end, weights, totals, 0);
}

#endif  // HWY_HAVE_SCALABLE

}  // namespace HWY_NAMESPACE
}  // namespace dsv4::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace dsv4::simd {
HWY_EXPORT(Fp4Scores);
HWY_EXPORT(Fp4Totals);

void fp4_scores(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin, int64_t row_end,
                float* scores, int64_t score_stride) {
  HWY_DYNAMIC_DISPATCH(Fp4Scores)(q, tiles, row_begin, row_end, scores, score_stride);
}

void fp4_totals(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin, int64_t row_end,
                const float* weights, float* totals) {
  HWY_DYNAMIC_DISPATCH(Fp4Totals)(q, tiles, row_begin, row_end, weights, totals);
}
}  // namespace dsv4::simd
#endif
