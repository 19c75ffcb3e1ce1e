// Exact integer scores of FP4-simulated vectors: the encoding is lossless and strict, every
// target's kernels equal the scalar references bit for bit, and the scores, totals and top-k
// selections equal those of f32 arithmetic (simd::matmul) whenever the exactness condition of
// simd/indexer_int8.h holds, which it does for realistic inputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "simd/indexer_int8.h"
#include "simd/matmul.h"
#include "simd/ops.h"
#include "tests/support/targets.h"

using namespace dsv4::simd;

namespace {

constexpr int kDim = 128;  // DeepSeek V4 Flash's indexer width
constexpr int kBlocks = kDim / kFp4Block;

// How the blocks of a random vector are scaled before the FP4 simulation.
struct Spread {
  float sigma;         // the vector's normal deviation
  float block_factor;  // each block further × 2^u, u uniform in [−block_factor, block_factor]
  bool hadamard;       // rotate as the indexer does (makes the blocks alike)
};

std::vector<float> fp4_vectors(int count, const Spread& s, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> u(-s.block_factor, s.block_factor);
  std::vector<float> x(static_cast<size_t>(count) * kDim);
  for (int r = 0; r < count; ++r) {
    float* v = x.data() + static_cast<size_t>(r) * kDim;
    for (int j = 0; j < kDim; ++j) v[j] = normal(rng) * s.sigma;
    if (s.hadamard) hadamard_transform(v, kDim);
    for (int b = 0; b < kBlocks; ++b) {
      const float f = std::exp2(u(rng));
      for (int j = b * kFp4Block; j < (b + 1) * kFp4Block; ++j) v[j] *= f;
    }
    simulate_fp4_e2m1(v, kDim, kFp4Block);
  }
  return x;
}

struct KeyTiles {
  std::vector<uint8_t> bytes;
  std::vector<float> decoded;  // rows × kDim
  int rows = 0;
};

KeyTiles encode_keys(const std::vector<float>& keys) {
  KeyTiles t;
  t.rows = static_cast<int>(keys.size() / kDim);
  t.bytes.assign((t.rows + kKeyTileRows - 1) / kKeyTileRows * key_tile_bytes(kDim), 0);
  t.decoded.resize(keys.size());
  for (int r = 0; r < t.rows; ++r) {
    uint8_t* tile = t.bytes.data() + r / kKeyTileRows * key_tile_bytes(kDim);
    REQUIRE(encode_key_row(keys.data() + r * kDim, kDim, tile, r % kKeyTileRows));
    decode_key_row(tile, kDim, r % kKeyTileRows, t.decoded.data() + r * kDim);
  }
  return t;
}

// The exactness condition of simd/indexer_int8.h for query head h and key row r: every f32
// partial sum of the products is exact.
bool exact_in_f32(const Fp4Queries& q, int h, const KeyTiles& k, int r) {
  std::vector<int8_t> key(kDim + kBlocks);
  load_key_row(k.bytes.data() + r / kKeyTileRows * key_tile_bytes(kDim), kDim, r % kKeyTileRows,
               key.data());
  int e[kBlocks];
  double magnitude[kBlocks];  // Σ |c_q·c_k| per block
  int e_min = 1 << 20, e_max = -(1 << 20);
  for (int b = 0; b < kBlocks; ++b) {
    e[b] = std::ilogb(q.scales[h * kBlocks + b]) + key[kDim + b];
    magnitude[b] = 0;
    for (int j = b * kFp4Block; j < (b + 1) * kFp4Block; ++j)
      magnitude[b] += std::abs(q.codes[h * kDim + j] * key[j]);
    if (magnitude[b] > 0) {
      e_min = std::min(e_min, e[b]);
      e_max = std::max(e_max, e[b]);
    }
  }
  if (e_max < e_min) return true;  // all products are zero
  double units = 0;
  for (int b = 0; b < kBlocks; ++b)
    if (magnitude[b] > 0) units += std::ldexp(magnitude[b], e[b] - e_min);
  return units < 0x1p24 && e_min >= -149 && e_max + std::log2(units) < 127;
}

// The f32 path of the indexer: scores by simd::matmul over the decoded keys, totals as the
// engine forms them.
void f32_scores(const std::vector<float>& queries, int heads, const KeyTiles& k,
                std::vector<float>& scores) {
  scores.assign(static_cast<size_t>(heads) * k.rows, 0.0f);
  const MatrixView m = make_matrix(TensorType::F32, k.decoded.data(), k.rows, kDim);
  matmul(m, queries.data(), kDim, heads, scores.data(), k.rows, 0, k.rows);
}

std::vector<float> f32_totals(const std::vector<float>& scores, int heads, int rows,
                              const std::vector<float>& weights) {
  std::vector<float> totals(static_cast<size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    float total = 0.0f;
    for (int h = 0; h < heads; ++h)
      total += std::max(scores[static_cast<size_t>(h) * rows + i], 0.0f) * weights[h];
    totals[i] = total;
  }
  return totals;
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

std::vector<float> random_weights(int heads, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(heads));
  for (float& v : w) v = normal(rng) * 0.011048543f;
  return w;
}

}  // namespace

TEST_CASE("FP4 encoding is lossless for simulated rows and refuses anything else") {
  std::mt19937 rng(1);
  const std::vector<float> rows = fp4_vectors(40, {1.0f, 3.0f, false}, rng);
  const KeyTiles k = encode_keys(rows);
  for (size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    // Zeros come back as +0; every other value bit for bit.
    CHECK((rows[i] == 0 ? k.decoded[i] == 0 : same_bits(rows[i], k.decoded[i])));
  }
  // The tile-independent form round-trips through another slot.
  std::vector<int8_t> encoded(kDim + kBlocks);
  std::vector<uint8_t> tile(key_tile_bytes(kDim), 0);
  load_key_row(k.bytes.data(), kDim, 5, encoded.data());
  REQUIRE(store_key_row(encoded.data(), kDim, tile.data(), 11));
  std::vector<float> back(kDim);
  decode_key_row(tile.data(), kDim, 11, back.data());
  CHECK(std::equal(back.begin(), back.end(), k.decoded.begin() + 5 * kDim));

  // Blocks of zeros and of the smallest values the simulation makes (multiples of 2^-127).
  std::vector<float> tiny(kDim, 0.0f);
  for (int j = kFp4Block; j < 2 * kFp4Block; ++j) tiny[j] = std::ldexp(float(j % 5 == 0), -127);
  tiny[2 * kFp4Block] = std::ldexp(12.0f, -127);
  REQUIRE(encode_key_row(tiny.data(), kDim, tile.data(), 0));
  decode_key_row(tile.data(), kDim, 0, back.data());
  CHECK(back == tiny);

  const std::vector<uint8_t> before = tile;
  auto refused = [&](std::vector<float> row) {
    return !encode_key_row(row.data(), kDim, tile.data(), 3) && tile == before;
  };
  std::vector<float> row(rows.begin(), rows.begin() + kDim);
  const int j = static_cast<int>(
      std::find_if(row.begin(), row.end(), [](float v) { return v != 0; }) - row.begin());
  auto with = [&](float v) {
    std::vector<float> r = row;
    r[j] = v;
    return r;
  };
  CHECK(refused(with(std::nextafter(row[j], 100.0f))));  // one ulp off the grid
  CHECK(refused(with(NAN)));
  CHECK(refused(with(INFINITY)));
  // 5·2^e is not a doubled E2M1 value (E2M1 has no 2.5).
  std::vector<float> five(kDim, 0.0f);
  five[0] = 12.0f;
  five[1] = 5.0f;
  CHECK(refused(five));
  std::vector<int8_t> bad(encoded);
  bad[7] = 5;
  CHECK(!store_key_row(bad.data(), kDim, tile.data(), 3));
  CHECK(tile == before);
  bad[7] = 13;
  CHECK(!store_key_row(bad.data(), kDim, tile.data(), 3));

  Fp4Queries q;
  CHECK(prepare_fp4_queries(rows.data(), 40, kDim, q));
  CHECK(!prepare_fp4_queries(with(NAN).data(), 1, kDim, q));
}

TEST_CASE("FP4 score kernels equal their scalar references on every target") {
  std::mt19937 rng(2);
  const int heads = 12, rows = 83;  // a partial last tile
  // Wide block spreads too: the references define the result whatever f32 does.
  for (const Spread s : {Spread{1.0f, 0.0f, true}, Spread{1e-3f, 12.0f, false}}) {
    CAPTURE(s.block_factor);
    const std::vector<float> queries = fp4_vectors(heads, s, rng);
    const KeyTiles k = encode_keys(fp4_vectors(rows, s, rng));
    Fp4Queries q;
    REQUIRE(prepare_fp4_queries(queries.data(), heads, kDim, q));
    const std::vector<float> weights = random_weights(heads, rng);
    std::vector<float> ref_scores(static_cast<size_t>(heads) * rows), ref_totals(rows);
    fp4_scores_reference(q, k.bytes.data(), 0, rows, ref_scores.data(), rows);
    fp4_totals_reference(q, k.bytes.data(), 0, rows, weights.data(), ref_totals.data());
    dsv4::testing::for_each_target([&](const std::string&) {
      // Whole range, ranges that start and end inside tiles, and single rows.
      const int ranges[][2] = {{0, rows}, {5, 77}, {16, 32}, {80, 83}, {3, 4}};
      for (const auto& range : ranges) {
        CAPTURE(range[0]);
        CAPTURE(range[1]);
        std::vector<float> scores(ref_scores.size(), -1.0f), totals(rows, -1.0f);
        fp4_scores(q, k.bytes.data(), range[0], range[1], scores.data(), rows);
        fp4_totals(q, k.bytes.data(), range[0], range[1], weights.data(), totals.data());
        int wrong = 0;
        for (int i = 0; i < rows; ++i) {
          const bool inside = i >= range[0] && i < range[1];
          for (int h = 0; h < heads; ++h) {
            const size_t at = static_cast<size_t>(h) * rows + i;
            wrong += !(inside ? same_bits(scores[at], ref_scores[at]) : scores[at] == -1.0f);
          }
          wrong += !(inside ? same_bits(totals[i], ref_totals[i]) : totals[i] == -1.0f);
        }
        CHECK(wrong == 0);
      }
    });
  }
}

TEST_CASE("integer scores, totals and top-k equal the f32 path bit for bit on realistic inputs") {
  std::mt19937 rng(3);
  const int heads = 64, rows = 301, top = 64;
  // Magnitudes from 2^-40 to 2^40 for queries and keys independently; rotated Gaussian rows,
  // and blocks scaled apart by up to 2^±2 each (spans of up to 8 binades per pair).
  const float sigmas[] = {0x1p-40f, 1e-3f, 1.0f, 1e3f, 0x1p40f};
  for (const float q_sigma : sigmas)
    for (const float k_sigma : sigmas)
      for (const Spread s : {Spread{1.0f, 0.0f, true}, Spread{1.0f, 2.0f, false}}) {
        CAPTURE(q_sigma);
        CAPTURE(k_sigma);
        CAPTURE(s.block_factor);
        const std::vector<float> queries =
            fp4_vectors(heads, {q_sigma, s.block_factor, s.hadamard}, rng);
        const KeyTiles k =
            encode_keys(fp4_vectors(rows, {k_sigma, s.block_factor, s.hadamard}, rng));
        Fp4Queries q;
        REQUIRE(prepare_fp4_queries(queries.data(), heads, kDim, q));
        int inexact = 0;
        for (int h = 0; h < heads; ++h)
          for (int r = 0; r < rows; ++r) inexact += !exact_in_f32(q, h, k, r);
        REQUIRE(inexact == 0);

        // Weights scaled so that totals stay finite at every magnitude.
        std::vector<float> weights = random_weights(heads, rng);
        for (float& w : weights) w *= 1.0f / (q_sigma * k_sigma);
        std::vector<float> scores(static_cast<size_t>(heads) * rows), totals(rows);
        fp4_scores(q, k.bytes.data(), 0, rows, scores.data(), rows);
        fp4_totals(q, k.bytes.data(), 0, rows, weights.data(), totals.data());
        std::vector<int32_t> picked, f32_picked;
        top_k(totals.data(), rows, top, picked);
        dsv4::testing::for_each_target([&](const std::string&) {
          std::vector<float> reference;
          f32_scores(queries, heads, k, reference);
          int wrong = 0;
          for (size_t i = 0; i < scores.size(); ++i) wrong += !same_bits(scores[i], reference[i]);
          CHECK(wrong == 0);
          const std::vector<float> f32 = f32_totals(reference, heads, rows, weights);
          wrong = 0;
          for (int i = 0; i < rows; ++i) wrong += !same_bits(totals[i], f32[i]);
          CHECK(wrong == 0);
          top_k(f32.data(), rows, top, f32_picked);
          CHECK(picked == f32_picked);
        });
      }
}

TEST_CASE("blocks far apart in scale: f32 can round, and only where the condition fails") {
  // Blocks scaled by up to 2^±12 each: some (head, row) pairs span more than 9 binades, where
  // f32 partial sums round (differently in each summation order) while the block sums stay
  // exact integers. Every difference from simd::matmul is at such a pair.
  std::mt19937 rng(4);
  const int heads = 16, rows = 200;
  const std::vector<float> queries = fp4_vectors(heads, {1.0f, 12.0f, false}, rng);
  const KeyTiles k = encode_keys(fp4_vectors(rows, {1.0f, 12.0f, false}, rng));
  Fp4Queries q;
  REQUIRE(prepare_fp4_queries(queries.data(), heads, kDim, q));
  std::vector<float> scores(static_cast<size_t>(heads) * rows);
  fp4_scores(q, k.bytes.data(), 0, rows, scores.data(), rows);
  std::vector<float> reference;
  f32_scores(queries, heads, k, reference);
  int differ = 0, differ_where_exact = 0, inexact = 0;
  for (int h = 0; h < heads; ++h)
    for (int r = 0; r < rows; ++r) {
      const size_t at = static_cast<size_t>(h) * rows + r;
      const bool exact = exact_in_f32(q, h, k, r);
      inexact += !exact;
      if (!same_bits(scores[at], reference[at])) {
        ++differ;
        differ_where_exact += exact;
      }
    }
  MESSAGE(inexact, " of ", heads * rows, " pairs fail the condition; ", differ, " scores differ");
  CHECK(inexact > 0);
  CHECK(differ > 0);
  CHECK(differ_where_exact == 0);
}
