#include "simd/amx.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "hwy/targets.h"
#include "simd/formats.h"
#include "simd/half.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace dsv4::simd {

#if defined(__x86_64__)
// GCC 12 warns inside its own AVX-512 intrinsics ("__Y is used uninitialized", GCC bug
// 105593); the warning is spurious.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace {

constexpr long kArchReqXcompPerm = 0x1023;
constexpr long kXfeatureXtiledata = 18;

// Every tile is 16 lines of 64 bytes: 16 f32, or 16 pairs of bf16.
constexpr int64_t kTileBf16 = 512;
// Blocking (measured on a 2 MiB-L2 core): a group of tokens shares each weight pack; the
// group's activations for one column chunk (hi + lo) stay in L2 while every row block of the
// panel passes over them, and the panel's f32 accumulators stay there too.
constexpr int64_t kTokenGroup = 256;
constexpr int64_t kRowPanel = 1024;
constexpr int64_t kChunkBytes = int64_t{1} << 20;
// Packing reads 32 rows a block at a time: 32 short interleaved streams that the hardware
// prefetchers do not follow, so each row's block this far ahead is prefetched. 8 blocks ahead
// took Flash-slice prefill from 136-142 to 151-152 tok/s in alternating runs; 16 gained less.
constexpr int64_t kPackPrefetchBlocks = 8;

bool detect_amx() {
  if (const char* off = std::getenv("DSV4_NO_AMX"); off != nullptr && std::string_view(off) == "1")
    return false;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool amx_bf16 = (edx >> 22) & 1, amx_tile = (edx >> 24) & 1;
  const bool avx512 = (ebx >> 16) & 1, avx512bw = (ebx >> 30) & 1;
  if (!amx_bf16 || !amx_tile || !avx512 || !avx512bw) return false;
  // Linux hands out the 8 KB of tile state only on request.
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

struct TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0-3 accumulate C (weight rows × tokens, 16 × 16 f32 each), 4-5 hold A (16 weight
// rows × 32 bf16 columns), 6-7 hold B (16 tokens × 32 columns, as pairs per column line).
__attribute__((target("amx-tile,amx-bf16,avx512f"))) void load_tile_config() {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.colsb[t] = 64;
    config.rows[t] = 16;
  }
  // GCC does not see that ldtilecfg reads all 64 bytes and drops the stores above without
  // this barrier.
  __asm__ volatile("" : : "r"(&config) : "memory");
  _tile_loadconfig(&config);
}

// The bf16 (upper 16 bits) of f32 bit patterns, rounded to nearest even.
__attribute__((target("avx512f,avx512bw"), always_inline)) inline __m512i round_to_bf16(
    __m512i bits) {
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  return _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), odd)),
                           16);
}

// 16 values → hi = bf16(v), lo = bf16(v − hi), so that hi + lo ≈ v to ~16 bits.
__attribute__((target("avx512f,avx512bw"), always_inline)) inline void split16(__m512 v,
                                                                               uint16_t* hi,
                                                                               uint16_t* lo) {
  const __m512i h = round_to_bf16(_mm512_castps_si512(v));
  const __m512 back = _mm512_castsi512_ps(_mm512_slli_epi32(h, 16));
  const __m512i l = round_to_bf16(_mm512_castps_si512(_mm512_sub_ps(v, back)));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi), _mm512_cvtepi32_epi16(h));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo), _mm512_cvtepi32_epi16(l));
}

// bf16 of 16 values that bf16 holds exactly (truncation is then exact).
__attribute__((target("avx512f,avx512bw"), always_inline)) inline void store_exact_bf16(
    __m512 v, uint16_t* out) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                      _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_castps_si512(v), 16)));
}

// 16×16 transpose of 32-bit elements: line i of dst = column i of the 16 source lines.
__attribute__((target("avx512f"))) void transpose16(const void* src, int64_t src_stride_bytes,
                                                    void* dst, int64_t dst_stride_bytes) {
  const auto* s = static_cast<const char*>(src);
  auto* d = static_cast<char*>(dst);
  __m512i r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(s + i * src_stride_bytes);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  // Now 128-bit lane L of r[4i + j] holds column 4L + j of source lines 4i..4i+3.
  for (int j = 0; j < 4; ++j) {
    const __m512i even_a = _mm512_shuffle_i32x4(r[j], r[4 + j], 0x88);
    const __m512i odd_a = _mm512_shuffle_i32x4(r[j], r[4 + j], 0xDD);
    const __m512i even_b = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0x88);
    const __m512i odd_b = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0xDD);
    _mm512_storeu_si512(d + j * dst_stride_bytes, _mm512_shuffle_i32x4(even_a, even_b, 0x88));
    _mm512_storeu_si512(d + (8 + j) * dst_stride_bytes, _mm512_shuffle_i32x4(even_a, even_b, 0xDD));
    _mm512_storeu_si512(d + (4 + j) * dst_stride_bytes, _mm512_shuffle_i32x4(odd_a, odd_b, 0x88));
    _mm512_storeu_si512(d + (12 + j) * dst_stride_bytes, _mm512_shuffle_i32x4(odd_a, odd_b, 0xDD));
  }
}

// ---- weight packing into A tiles ----
//
// For each 32-column block kb, the A tiles of a 32-row block are 32 consecutive lines of 32
// bf16 (rows 0-15 form tile 2kb, rows 16-31 tile 2kb + 1), so row n of block kb starts at
// element kb·1024 + n·32. The fast formats are converted block-major, which writes the tiles
// line after line; `rows` points at each row's first block of the chunk.

// The bf16 bit patterns of the 16 doubled E2M1 values, twice: vpermw indexes with five bits.
struct Mxfp4Bf16Table {
  alignas(64) uint16_t words[32];
  Mxfp4Bf16Table() {
    for (int i = 0; i < 32; ++i) {
      const float v = kMxfp4Values[i & 15];
      uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      words[i] = static_cast<uint16_t>(bits >> 16);  // small integers: exact in bf16
    }
  }
};

// Scale exponents for which v·2^(e−128) stays a normal bf16 for every value v (1 to 12): the
// scale is then applied by adding e − 128 to the exponent field of the non-zero values.
constexpr int kMinExponentAddE8m0 = 2, kMaxExponentAddE8m0 = 252;

__attribute__((target("avx512f,avx512bw"))) void pack_mxfp4(const uint8_t* const* rows, int nrows,
                                                            int64_t blocks, uint16_t* hi) {
  static const Mxfp4Bf16Table bf16_table;
  const __m512i words = _mm512_load_si512(bf16_table.words);
  const __m512 table = _mm512_cvtepi32_ps(
      _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kMxfp4Values))));
  const __m128i nibble = _mm_set1_epi8(0x0F);
  for (int64_t kb = 0; kb < blocks; ++kb)
    for (int n = 0; n < nrows; ++n) {
      const BlockMxfp4& block = reinterpret_cast<const BlockMxfp4*>(rows[n])[kb];
      _mm_prefetch(reinterpret_cast<const char*>(&block + kPackPrefetchBlocks), _MM_HINT_T0);
      uint16_t* out = hi + kb * 2 * kTileBf16 + n * 32;
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.qs));
      const __m128i low = _mm_and_si128(q, nibble),
                    high = _mm_and_si128(_mm_srli_epi16(q, 4), nibble);
      if (block.e >= kMinExponentAddE8m0 && block.e <= kMaxExponentAddE8m0) {
        // Elements 0..15 (low nibbles) then 16..31 as word indices into the bf16 table.
        const __m512i index =
            _mm512_cvtepu8_epi16(_mm256_inserti128_si256(_mm256_castsi128_si256(low), high, 1));
        const __m512i v = _mm512_permutexvar_epi16(index, words);
        const __mmask32 nonzero = _mm512_test_epi16_mask(v, _mm512_set1_epi16(0x7FFF));
        const __m512i exponent = _mm512_set1_epi16(static_cast<int16_t>((block.e - 128) * 128));
        _mm512_storeu_si512(out, _mm512_mask_add_epi16(v, nonzero, v, exponent));
        continue;
      }
      // Doubled E2M1 values times a power of two: exact in f32 and in bf16.
      const __m512 scale = _mm512_set1_ps(e8m0_to_f32_half(block.e));
      const __m512 first = _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(low), table);
      const __m512 second = _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(high), table);
      store_exact_bf16(_mm512_mul_ps(first, scale), out);
      store_exact_bf16(_mm512_mul_ps(second, scale), out + 16);
    }
}

__attribute__((target("avx512f,avx512bw,f16c"))) void pack_q8_0(const uint8_t* const* rows,
                                                                int nrows, int64_t blocks,
                                                                uint16_t* hi, uint16_t* lo) {
  for (int64_t kb = 0; kb < blocks; ++kb)
    for (int n = 0; n < nrows; ++n) {
      const BlockQ8_0& block = reinterpret_cast<const BlockQ8_0*>(rows[n])[kb];
      _mm_prefetch(reinterpret_cast<const char*>(&block + kPackPrefetchBlocks), _MM_HINT_T0);
      const int64_t out = kb * 2 * kTileBf16 + n * 32;
      const __m512 d = _mm512_set1_ps(_cvtsh_ss(block.d));
      for (int half = 0; half < 2; ++half) {
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.qs + 16 * half));
        // int8 × f16 scale: exact in f32, as ggml decodes it.
        const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d);
        split16(v, hi + out + 16 * half, lo + out + 16 * half);
      }
    }
}

void pack_bf16(const uint8_t* const* rows, int nrows, int64_t blocks, uint16_t* hi) {
  for (int64_t kb = 0; kb < blocks; ++kb)
    for (int n = 0; n < nrows; ++n)
      std::memcpy(hi + kb * 2 * kTileBf16 + n * 32, rows[n] + kb * 64, 64);
}

__attribute__((target("avx512f,avx512bw"))) void pack_decoded(const float* x, int64_t n_blocks,
                                                              uint16_t* hi, uint16_t* lo,
                                                              int64_t stride) {
  for (int64_t b = 0; b < n_blocks; ++b)
    for (int half = 0; half < 2; ++half)
      split16(_mm512_loadu_ps(x + 32 * b + 16 * half), hi + b * stride + 16 * half,
              lo + b * stride + 16 * half);
}

bool exact_in_bf16(TensorType type) {
  return type == TensorType::MXFP4 || type == TensorType::BF16;
}

// Per-thread buffers: a decoded row, the A tiles of one row block, the f32 accumulators of a
// row panel × token group, and the row-major bf16 staging of a token block.
struct ThreadBuffers {
  std::vector<float> decoded;
  std::vector<uint16_t> a_hi, a_lo;
  std::vector<float> acc;
  std::vector<uint16_t> stage_hi, stage_lo;
};

ThreadBuffers& thread_buffers() {
  thread_local ThreadBuffers buffers;
  return buffers;
}

template <class T>
void ensure(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

void zero_blocks(uint16_t* p, int64_t n_blocks, int64_t stride) {
  for (int64_t b = 0; b < n_blocks; ++b) std::memset(p + b * stride, 0, 64);
}

// A tiles of rows [r0, r0 + nrows) (nrows ≤ 32) over columns [k0, k0 + kn): for each 32-column
// block kb, tile kb·2 + h holds rows 16h..16h+15 as 16 lines of 32 bf16. Missing rows and
// columns past the matrix are zero.
void pack_rows(const MatrixView& w, int64_t r0, int nrows, int64_t k0, int64_t kn, ThreadBuffers& b,
               bool with_lo) {
  const int64_t blocks = kn / 32;
  const int64_t valid_blocks = std::clamp<int64_t>(w.cols - k0, 0, kn) / 32;
  constexpr int64_t stride = 2 * kTileBf16;
  auto line = [&](std::vector<uint16_t>& tiles, int n) { return tiles.data() + n * 32; };

  const bool fast_format =
      w.type == TensorType::MXFP4 || w.type == TensorType::BF16 || w.type == TensorType::Q8_0;
  if (fast_format && valid_blocks > 0) {
    const uint8_t* rows[32];
    for (int n = 0; n < nrows; ++n) rows[n] = w.row(r0 + n) + row_bytes(w.type, k0);
    if (w.type == TensorType::MXFP4)
      pack_mxfp4(rows, nrows, valid_blocks, b.a_hi.data());
    else if (w.type == TensorType::BF16)
      pack_bf16(rows, nrows, valid_blocks, b.a_hi.data());
    else
      pack_q8_0(rows, nrows, valid_blocks, b.a_hi.data(), b.a_lo.data());
  }
  for (int n = 0; n < 32; ++n) {
    uint16_t* hi = line(b.a_hi, n);
    uint16_t* lo = line(b.a_lo, n);
    const int64_t real = n < nrows ? valid_blocks : 0;
    if (real > 0 && !fast_format) {
      decode_row_range(w, r0 + n, k0, 32 * real, b.decoded.data());
      pack_decoded(b.decoded.data(), real, hi, lo, stride);
    }
    zero_blocks(hi + real * stride, blocks - real, stride);
    if (with_lo) zero_blocks(lo + real * stride, blocks - real, stride);
  }
}

// C (four 16×16 f32 tiles at c: rows 0-15 × tokens 0-15, rows 0-15 × tokens 16-31, rows 16-31
// × tokens 0-15, rows 16-31 × tokens 16-31) += A · B over `blocks` column blocks. b1_* are
// null when the token block has only 16 tokens; a_lo is null for weights exact in bf16.
__attribute__((target("amx-tile,amx-bf16"))) void multiply_tiles(
    const uint16_t* a_hi, const uint16_t* a_lo, const uint16_t* b0_hi, const uint16_t* b0_lo,
    const uint16_t* b1_hi, const uint16_t* b1_lo, int64_t blocks, float* c, bool accumulate) {
  const bool two = b1_hi != nullptr;
  if (accumulate) {
    _tile_loadd(0, c, 64);
    _tile_loadd(2, c + 512, 64);
    if (two) {
      _tile_loadd(1, c + 256, 64);
      _tile_loadd(3, c + 768, 64);
    }
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  // Pass order (A_hi·B_lo, A_hi·B_hi, A_lo·B_hi) loads each distinct tile once: the A_hi
  // tiles stay for two passes and the B_hi tiles for the last two.
  for (int64_t kb = 0; kb < blocks; ++kb) {
    const int64_t a = kb * 2 * kTileBf16, bk = kb * kTileBf16;
    _tile_loadd(4, a_hi + a, 64);
    _tile_loadd(5, a_hi + a + kTileBf16, 64);
    _tile_loadd(6, b0_lo + bk, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(2, 5, 6);
    if (two) {
      _tile_loadd(7, b1_lo + bk, 64);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(3, 5, 7);
    }
    _tile_loadd(6, b0_hi + bk, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(2, 5, 6);
    if (two) {
      _tile_loadd(7, b1_hi + bk, 64);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(3, 5, 7);
    }
    if (a_lo != nullptr) {
      _tile_loadd(4, a_lo + a, 64);
      _tile_loadd(5, a_lo + a + kTileBf16, 64);
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(2, 5, 6);
      if (two) {
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(3, 5, 7);
      }
    }
  }
  _tile_stored(0, c, 64);
  _tile_stored(2, c + 512, 64);
  if (two) {
    _tile_stored(1, c + 256, 64);
    _tile_stored(3, c + 768, 64);
  }
}

// Writes the C tiles of one row block × token block to y (tokens × rows), transposing each
// 16×16 tile.
__attribute__((target("avx512f"))) void store_block(const float* c, float* y, int64_t y_stride,
                                                    int64_t r0, int nrows, int64_t t0,
                                                    int64_t ntokens) {
  alignas(64) float tile[256];
  for (int rh = 0; rh < 2; ++rh)
    for (int th = 0; th < 2; ++th) {
      const int rows = std::clamp(nrows - 16 * rh, 0, 16);
      const int64_t tokens = std::clamp<int64_t>(ntokens - 16 * th, 0, 16);
      if (rows == 0 || tokens == 0) continue;
      transpose16(c + (2 * rh + th) * 256, 64, tile, 64);
      const __mmask16 mask = static_cast<__mmask16>((1u << rows) - 1);
      for (int64_t t = 0; t < tokens; ++t)
        _mm512_mask_storeu_ps(y + (t0 + 16 * th + t) * y_stride + r0 + 16 * rh, mask,
                              _mm512_load_ps(tile + 16 * t));
    }
}

}  // namespace

bool amx_available() {
  static const bool available = detect_amx();
  // Dispatch pinned below AVX3 (`--target`) stands for a CPU without AVX-512, hence without
  // AMX: a pinned run then computes what such a CPU would.
  return available && (hwy::SupportedTargets() & (HWY_AVX3 | HWY_AVX3_DL)) != 0;
}

void size_amx_input(int64_t n_tokens, int64_t cols, AmxInput& in) {
  in.tokens = n_tokens;
  in.padded_tokens = (n_tokens + 15) / 16 * 16;
  in.cols = cols;
  // Columns pad to whole 256-blocks so that column chunks fall on every format's blocks.
  in.padded_cols = (cols + 255) / 256 * 256;
  const size_t size = static_cast<size_t>(in.padded_tokens * in.padded_cols);
  if (in.hi.size() < size) {
    in.hi.resize(size);
    in.lo.resize(size);
  }
}

void prepare_amx_tokens(const float* x, int64_t x_stride, int64_t block_begin, int64_t block_end,
                        AmxInput& in) {
  ThreadBuffers& b = thread_buffers();
  // Staging lines one cache line longer than the row, so that the 16 lines a transpose reads
  // do not all fall into the same L1 set.
  const int64_t line = in.padded_cols + 32;
  ensure(b.stage_hi, static_cast<size_t>(16 * line));
  ensure(b.stage_lo, static_cast<size_t>(16 * line));
  const int64_t k_blocks = in.padded_cols / 32;
  for (int64_t block = block_begin; block < block_end; ++block) {
    for (int64_t t = 0; t < 16; ++t) {
      uint16_t* hi = b.stage_hi.data() + t * line;
      uint16_t* lo = b.stage_lo.data() + t * line;
      const int64_t filled = 16 * block + t < in.tokens ? in.cols / 32 * 32 : 0;
      if (filled > 0) pack_decoded(x + (16 * block + t) * x_stride, filled / 32, hi, lo, 32);
      std::fill(hi + filled, hi + in.padded_cols, 0);
      std::fill(lo + filled, lo + in.padded_cols, 0);
    }
    // Token-major pairs → one line per column pair, as B tiles want them.
    for (int64_t kb = 0; kb < k_blocks; ++kb) {
      const int64_t tile = (block * k_blocks + kb) * kTileBf16;
      transpose16(b.stage_hi.data() + 32 * kb, line * 2, in.hi.data() + tile, 64);
      transpose16(b.stage_lo.data() + 32 * kb, line * 2, in.lo.data() + tile, 64);
    }
  }
}

void prepare_amx_input(const float* x, int64_t x_stride, int64_t n_tokens, int64_t cols,
                       AmxInput& out) {
  size_amx_input(n_tokens, cols, out);
  prepare_amx_tokens(x, x_stride, 0, out.padded_tokens / 16, out);
}

void matmul_amx(const MatrixView& w, const AmxInput& in, float* y, int64_t y_stride,
                int64_t row_begin, int64_t row_end) {
  thread_local bool configured = false;
  if (!configured) {
    load_tile_config();
    configured = true;
  }
  ThreadBuffers& b = thread_buffers();
  const bool with_lo = !exact_in_bf16(w.type);
  const int64_t k_blocks = in.padded_cols / 32;
  for (int64_t p0 = row_begin; p0 < row_end; p0 += kRowPanel) {
    const int64_t p1 = std::min(row_end, p0 + kRowPanel);
    const int64_t row_blocks = (p1 - p0 + 31) / 32;
    for (int64_t g0 = 0; g0 < in.padded_tokens; g0 += kTokenGroup) {
      const int64_t group = std::min(kTokenGroup, in.padded_tokens - g0);
      const int64_t halves = group / 16, token_blocks = (halves + 1) / 2;
      const int64_t chunk =
          std::clamp<int64_t>(kChunkBytes / (group * 4) / 256 * 256, 256, in.padded_cols);
      ensure(b.decoded, static_cast<size_t>(chunk));
      ensure(b.a_hi, static_cast<size_t>(32 * chunk));
      ensure(b.a_lo, static_cast<size_t>(32 * chunk));
      ensure(b.acc, static_cast<size_t>(row_blocks * token_blocks * 1024));
      for (int64_t k0 = 0; k0 < in.padded_cols; k0 += chunk) {
        const int64_t kn = std::min(chunk, in.padded_cols - k0);
        for (int64_t rb = 0; rb < row_blocks; ++rb) {
          const int64_t r0 = p0 + 32 * rb;
          pack_rows(w, r0, static_cast<int>(std::min<int64_t>(32, p1 - r0)), k0, kn, b, with_lo);
          for (int64_t tb = 0; tb < token_blocks; ++tb) {
            const int64_t h0 = g0 / 16 + 2 * tb;
            const int64_t first = (h0 * k_blocks + k0 / 32) * kTileBf16;
            const bool two = 2 * tb + 1 < halves;
            const int64_t second = first + k_blocks * kTileBf16;
            multiply_tiles(b.a_hi.data(), with_lo ? b.a_lo.data() : nullptr, in.hi.data() + first,
                           in.lo.data() + first, two ? in.hi.data() + second : nullptr,
                           two ? in.lo.data() + second : nullptr, kn / 32,
                           b.acc.data() + (rb * token_blocks + tb) * 1024, k0 > 0);
          }
        }
      }
      for (int64_t rb = 0; rb < row_blocks; ++rb) {
        const int64_t r0 = p0 + 32 * rb;
        const int nrows = static_cast<int>(std::min<int64_t>(32, p1 - r0));
        for (int64_t tb = 0; tb < token_blocks; ++tb) {
          const int64_t t0 = g0 + 32 * tb;
          store_block(b.acc.data() + (rb * token_blocks + tb) * 1024, y, y_stride, r0, nrows, t0,
                      std::min<int64_t>(32, in.tokens - t0));
        }
      }
    }
  }
}

__attribute__((target("amx-tile,amx-bf16"))) int64_t amx_peak_probe(int64_t steps) {
  thread_local bool configured = false;
  if (!configured) {
    load_tile_config();
    configured = true;
  }
  // bf16 1.0 everywhere: real operands, in case the unit ever shortcuts zeros.
  alignas(64) static const auto ones = [] {
    std::array<uint16_t, kTileBf16> v;
    v.fill(0x3F80);
    return v;
  }();
  _tile_loadd(4, ones.data(), 64);
  _tile_loadd(5, ones.data(), 64);
  _tile_loadd(6, ones.data(), 64);
  _tile_loadd(7, ones.data(), 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  // Four independent accumulators cover the product's latency.
  for (int64_t i = 0; i < steps; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  alignas(64) float sink[256];
  _tile_stored(0, sink, 64);
  __asm__ volatile("" : : "r"(sink) : "memory");
  return steps * 4 * 16 * 16 * 32;
}

#pragma GCC diagnostic pop
#else

bool amx_available() {
  return false;
}
void size_amx_input(int64_t, int64_t, AmxInput&) {}
void prepare_amx_tokens(const float*, int64_t, int64_t, int64_t, AmxInput&) {}
void prepare_amx_input(const float*, int64_t, int64_t, int64_t, AmxInput&) {}
void matmul_amx(const MatrixView&, const AmxInput&, float*, int64_t, int64_t, int64_t) {}
int64_t amx_peak_probe(int64_t) {
  return 0;
}

#endif

}  // namespace dsv4::simd
