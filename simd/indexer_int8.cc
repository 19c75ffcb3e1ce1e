#include "simd/indexer_int8.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "base/error.h"
#include "simd/fp4_codes.h"

namespace dsv4::simd {
namespace {

// The exponent of all-zero blocks, and the smallest any block takes: simulate_fp4_e2m1 never
// scales by less than 2^-126, so its values are multiples of 2^-127.
constexpr int kMinExponent = -127;

// Bit m set for each doubled E2M1 magnitude m: 0, 1, 2, 3, 4, 6, 8, 12.
constexpr uint32_t kCodeMagnitudes = 0b1'0001'0101'1111;

bool doubled_e2m1(float c) {
  const float a = std::fabs(c);
  // One table test instead of eight comparisons: this runs for every query value of every token.
  return a <= 12 && a == static_cast<float>(static_cast<int>(a)) &&
         (kCodeMagnitudes >> static_cast<int>(a) & 1) != 0;
}

// Codes and exponent of one block of 32 values, or false if it is not c·2^e throughout.
bool encode_block(const float* x, int8_t* codes, int8_t& exponent) {
  float amax = 0.0f;
  for (int i = 0; i < kFp4Block; ++i) {
    if (!std::isfinite(x[i])) return false;
    amax = std::max(amax, std::fabs(x[i]));
  }
  int e = kMinExponent;
  if (amax > 0.0f) {
    // amax = m·2^p with m in [0.5, 1): the largest code, 8 or 12, is in [2^3, 2^4) of 2^e.
    int p = 0;
    std::frexp(amax, &p);
    e = std::max(p - 4, kMinExponent);
  }
  // Scaling by a power of two is exact whenever the result is an integer code, so the
  // round trip below holds exactly when x is c·2^e.
  const float down = fp4_scale(-e), up = fp4_scale(e);
  for (int i = 0; i < kFp4Block; ++i) {
    const float c = x[i] * down;
    if (!doubled_e2m1(c) || c * up != x[i]) return false;
    codes[i] = static_cast<int8_t>(c);
  }
  exponent = static_cast<int8_t>(e);
  return true;
}

void check_dim(int dim) {
  if (dim <= 0 || dim % kFp4Block != 0 || dim > kMaxFp4Dim)
    fail("FP4 vectors must have a multiple of ", kFp4Block, " values, at most ", kMaxFp4Dim,
         ", not ", dim);
}

uint8_t* code_byte(uint8_t* tile, int slot, int column) {
  return tile + (column / 4) * (4 * kKeyTileRows) + slot * 4 + column % 4;
}
const uint8_t* code_byte(const uint8_t* tile, int slot, int column) {
  return tile + (column / 4) * (4 * kKeyTileRows) + slot * 4 + column % 4;
}
size_t exponent_offset(int dim, int slot, int block) {
  return static_cast<size_t>(dim) * kKeyTileRows + block * kKeyTileRows + slot;
}

void place_row(const int8_t* encoded, int dim, uint8_t* tile, int slot) {
  for (int j = 0; j < dim; ++j) *code_byte(tile, slot, j) = static_cast<uint8_t>(encoded[j]);
  for (int b = 0; b < dim / kFp4Block; ++b)
    tile[exponent_offset(dim, slot, b)] = static_cast<uint8_t>(encoded[dim + b]);
}

int8_t key_code(const uint8_t* tile, int slot, int column) {
  return static_cast<int8_t>(*code_byte(tile, slot, column));
}
int8_t key_exponent(const uint8_t* tile, int dim, int slot, int block) {
  return static_cast<int8_t>(tile[exponent_offset(dim, slot, block)]);
}

// score(q_h, row) exactly as the header defines it.
float reference_score(const Fp4Queries& q, int h, const uint8_t* tile, int slot) {
  const int nb = q.dim / kFp4Block;
  const int8_t* qc = q.codes.data() + static_cast<size_t>(h) * q.dim;
  float score = 0.0f;
  for (int b = 0; b < nb; ++b) {
    int32_t dot = 0;
    for (int j = b * kFp4Block; j < (b + 1) * kFp4Block; ++j)
      dot += int32_t{qc[j]} * key_code(tile, slot, j);
    const float scale =
        q.scales[static_cast<size_t>(h) * nb + b] * fp4_scale(key_exponent(tile, q.dim, slot, b));
    score += static_cast<float>(dot) * scale;
  }
  return score;
}

const uint8_t* tile_of(const uint8_t* tiles, int dim, int64_t row) {
  return tiles + static_cast<size_t>(row / kKeyTileRows) * key_tile_bytes(dim);
}

}  // namespace

size_t key_tile_bytes(int dim) {
  return static_cast<size_t>(dim) * kKeyTileRows +
         static_cast<size_t>(dim / kFp4Block) * kKeyTileRows;
}

bool encode_key_row(const float* row, int dim, uint8_t* tile, int slot) {
  check_dim(dim);
  std::array<int8_t, kMaxFp4Dim + kMaxFp4Dim / kFp4Block> encoded;
  for (int b = 0; b < dim / kFp4Block; ++b)
    if (!encode_block(row + b * kFp4Block, encoded.data() + b * kFp4Block, encoded[dim + b]))
      return false;
  place_row(encoded.data(), dim, tile, slot);
  return true;
}

void load_key_row(const uint8_t* tile, int dim, int slot, int8_t* encoded) {
  for (int j = 0; j < dim; ++j) encoded[j] = key_code(tile, slot, j);
  for (int b = 0; b < dim / kFp4Block; ++b) encoded[dim + b] = key_exponent(tile, dim, slot, b);
}

bool store_key_row(const int8_t* encoded, int dim, uint8_t* tile, int slot) {
  check_dim(dim);
  for (int j = 0; j < dim; ++j)
    if (!doubled_e2m1(encoded[j])) return false;
  place_row(encoded, dim, tile, slot);
  return true;
}

void decode_key_row(const uint8_t* tile, int dim, int slot, float* out) {
  for (int j = 0; j < dim; ++j)
    out[j] = key_code(tile, slot, j) * fp4_scale(key_exponent(tile, dim, slot, j / kFp4Block));
}

void Fp4Queries::reserve(int heads_in, int dim_in) {
  const size_t n = static_cast<size_t>(heads_in) * dim_in;
  codes.reserve(n);
  codes16.reserve(n);
  biased.reserve(n);
  scales.reserve(n / kFp4Block);
}

size_t Fp4Queries::reserved_bytes(int heads_in, int dim_in) {
  const size_t n = static_cast<size_t>(heads_in) * dim_in;
  return n * (sizeof(int8_t) + sizeof(int16_t) + sizeof(uint8_t)) + n / kFp4Block * sizeof(float);
}

bool prepare_fp4_queries(const float* q, int heads, int dim, Fp4Queries& out) {
  check_dim(dim);
  const size_t n = static_cast<size_t>(heads) * dim;
  out.heads = heads;
  out.dim = dim;
  out.codes.resize(n);
  out.codes16.resize(n);
  out.biased.resize(n);
  out.scales.resize(n / kFp4Block);
  for (size_t b = 0; b < n / kFp4Block; ++b) {
    int8_t e = 0;
    if (!encode_block(q + b * kFp4Block, out.codes.data() + b * kFp4Block, e)) return false;
    out.scales[b] = fp4_scale(e);
  }
  for (size_t i = 0; i < n; ++i) {
    out.codes16[i] = out.codes[i];
    out.biased[i] = static_cast<uint8_t>(out.codes[i] + kFp4CodeBias);
  }
  return true;
}

void fp4_scores_reference(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin,
                          int64_t row_end, float* scores, int64_t score_stride) {
  for (int64_t i = row_begin; i < row_end; ++i)
    for (int h = 0; h < q.heads; ++h)
      scores[h * score_stride + i] =
          reference_score(q, h, tile_of(tiles, q.dim, i), static_cast<int>(i % kKeyTileRows));
}

void fp4_totals_reference(const Fp4Queries& q, const uint8_t* tiles, int64_t row_begin,
                          int64_t row_end, const float* weights, float* totals) {
  for (int64_t i = row_begin; i < row_end; ++i) {
    float total = 0.0f;
    for (int h = 0; h < q.heads; ++h)
      total += std::max(reference_score(q, h, tile_of(tiles, q.dim, i),
                                        static_cast<int>(i % kKeyTileRows)),
                        0.0f) *
               weights[h];
    totals[i] = total;
  }
}

}  // namespace dsv4::simd
