// Exact integer scoring of FP4-simulated vectors, for the lightning indexer's queries and keys.
//
// After simulate_fp4_e2m1 with blocks of 32, every value of a block is c·2^e: c a doubled E2M1
// value (0, ±1, ±2, ±3, ±4, ±6, ±8, ±12) and e one exponent per block. Such vectors are kept as
// int8 codes c plus one int8 exponent per block, losslessly, and the dot product of a query head
// with a key row is computed from integers:
//
//   score = Σ_b S_b · (2^e_q,b · 2^e_k,b)   S_b = Σ_{i in block b} c_q,i · c_k,i (exact int32)
//
// each term rounded to f32 once (exact unless 2^(e_q,b + e_k,b) underflows), summed in f32 over
// blocks in ascending order from +0; and total = Σ_h max(score_h, 0)·w_h in f32 over heads in
// ascending order from +0. Every target evaluates exactly these operations (the block sums are
// integers, whatever instructions form them), so results are bit-identical on every target and
// equal to the scalar references below.
//
// Equality with f32 arithmetic (simd::matmul over the decoded values, any summation order): each
// product q_i·k_i = c_q,i·c_k,i·2^(e_q,b + e_k,b) is exact in f32, and so is every partial sum
// when, with e_min the smallest exponent sum e_q,b + e_k,b over blocks holding a nonzero
// product,
//
//   Σ_i |c_q,i · c_k,i| · 2^(e_q,b(i) + e_k,b(i) − e_min) < 2^24   and   e_min ≥ −149
//
// (no product below f32's smallest subnormal, none overflowing). Then both paths give the exact
// dot product, bit for bit. Since |c·c| ≤ 144, a 128-wide row satisfies this whenever the block
// exponent sums of one query head and one key row lie within 9 binades of each other
// (128·144·2^9 < 2^24). FP4-simulated Hadamard-rotated vectors have blocks of similar magnitude
// (a spread of a few binades); only rows whose blocks differ by ~2^10 or more in scale can round
// in f32, and then the two paths may differ in the last bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dsv4::simd {

constexpr int kFp4Block = 32;
// Key rows are stored in tiles of 16 rows, so that the kernels hold one row per vector lane.
constexpr int kKeyTileRows = 16;
// Largest vector width the kernels accept (their per-tile buffers live on the stack).
constexpr int kMaxFp4Dim = 512;

// Tile layout for rows of `dim` values (dim a multiple of 32, at most kMaxFp4Dim): codes first,
// one 64-byte group per 4 consecutive columns (4j .. 4j+3) holding those 4 codes of each of the
// 16 rows in turn (row r at bytes 4r .. 4r+3), then the exponents, 16 bytes per block (row r at
// byte r). A 4-code group is one 32-bit lane, the unit of int8 dot-product instructions.
size_t key_tile_bytes(int dim);

// Encodes FP4-simulated `row` into row `slot` (< kKeyTileRows) of `tile`. Returns false, leaving
// the tile unchanged, unless every block is c·2^e as above (checked exactly, value by value).
// Exponents are canonical: the smallest e ≥ −127 that keeps every code within ±12; all-zero
// blocks take e = −127.
bool encode_key_row(const float* row, int dim, uint8_t* tile, int slot);
// The tile-independent form of an encoded row: `dim` codes then dim/32 exponents (signed bytes).
// store_key_row returns false, leaving the tile unchanged, if a code is not a doubled E2M1
// value.
void load_key_row(const uint8_t* tile, int dim, int slot, int8_t* encoded);
bool store_key_row(const int8_t* encoded, int dim, uint8_t* tile, int slot);
// The row's values as f32 (exact; zeros come back as +0).
void decode_key_row(const uint8_t* tile, int dim, int slot, float* out);

// A token's query heads in the kernels' forms, prepared once and read by every row task.
struct Fp4Queries {
  int heads = 0;
  int dim = 0;
  std::vector<int8_t> codes;     // heads × dim
  std::vector<int16_t> codes16;  // the same codes as int16 (int16 multiply–add kernels)
  std::vector<uint8_t> biased;   // codes + 12, unsigned (unsigned × signed int8 kernels)
  std::vector<float> scales;     // heads × dim/32: 2^e of each block

  // Sizes the buffers, so that later prepares of this shape do not allocate.
  void reserve(int heads, int dim);
  // What reserve() allocates.
  static size_t reserved_bytes(int heads, int dim);
};

// Encodes `heads` FP4-simulated vectors of `dim` values (q: heads × dim). Returns false if one
// is not FP4-simulated.
bool prepare_fp4_queries(const float* q, int heads, int dim, Fp4Queries& out);

// scores[h·score_stride + i] = score(q_h, key row i) for i in [row_begin, row_end); `tiles`
// holds rows from 0 in consecutive tiles. Rows are independent: callers may split them.
void fp4_scores(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin, int64_t row_end,
                float* scores, int64_t score_stride);
// totals[i] = Σ_h max(score(q_h, key row i), 0) · weights[h] for i in [row_begin, row_end).
void fp4_totals(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin, int64_t row_end,
                const float* weights, float* totals);

// Scalar references of the two kernels: the definition, loop by loop.
void fp4_scores_reference(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin,
                          int64_t row_end, float* scores, int64_t score_stride);
void fp4_totals_reference(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin,
                          int64_t row_end, const float* weights, float* totals);

}  // namespace dsv4::simd
