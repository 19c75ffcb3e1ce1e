// Matrix products: against a double-precision reference, and bit-identical across token
// counts and row splits (the batch invariance `--precision ref` promises).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "simd/amx.h"
#include "simd/attention.h"
#include "simd/formats.h"
#include "simd/matmul.h"
#include "simd/quantize.h"
#include "tests/support/targets.h"

using namespace dsv4::simd;

namespace {

constexpr TensorType kMatmulTypes[] = {TensorType::F32,     TensorType::F16,  TensorType::BF16,
                                       TensorType::Q8_0,    TensorType::Q2_K, TensorType::Q4_K,
                                       TensorType::IQ2_XXS, TensorType::MXFP4};

struct TestMatrix {
  std::vector<uint8_t> bytes;
  MatrixView view;
  std::vector<float> decoded;  // rows × cols, via the scalar reference
};

TestMatrix make_test_matrix(TensorType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  TestMatrix m;
  const size_t stride = row_bytes(type, cols);
  m.bytes.resize(stride * rows);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<float> src(cols);
  for (int64_t r = 0; r < rows; ++r) {
    if (type == TensorType::IQ2_XXS) {  // no quantizer: random codes, small finite scale
      for (size_t b = 0; b < stride; ++b) m.bytes[r * stride + b] = static_cast<uint8_t>(rng());
      for (int64_t blk = 0; blk < cols / 256; ++blk) {
        const uint16_t d = 0x2000 | static_cast<uint16_t>(rng() & 0x3FF);
        std::memcpy(&m.bytes[r * stride + blk * 66], &d, 2);
      }
      continue;
    }
    for (auto& v : src) v = normal(rng);
    quantize_row(type, src.data(), cols, m.bytes.data() + r * stride);
  }
  m.view = make_matrix(type, m.bytes.data(), rows, cols);
  m.decoded.resize(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    decode_row_reference(type, m.view.row(r), 0, cols, m.decoded.data() + r * cols);
  return m;
}

}  // namespace

TEST_CASE("matmul matches a double reference within f32 accumulation error on every target") {
  std::mt19937 rng(5);
  const int64_t rows = 37, cols = 512, tokens = 5;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(tokens * cols);
  for (auto& v : x) v = normal(rng);
  for (TensorType type : kMatmulTypes) {
    const std::string name(dsv4::gguf::type_name(type));
    CAPTURE(name);
    const TestMatrix m = make_test_matrix(type, rows, cols, rng);
    dsv4::testing::for_each_target([&](const std::string&) {
      std::vector<float> y(tokens * rows);
      matmul(m.view, x.data(), cols, tokens, y.data(), rows, 0, rows);
      double worst = 0;
      for (int64_t t = 0; t < tokens; ++t)
        for (int64_t r = 0; r < rows; ++r) {
          double exact = 0, magnitude = 0;
          for (int64_t k = 0; k < cols; ++k) {
            const double p = static_cast<double>(m.decoded[r * cols + k]) * x[t * cols + k];
            exact += p;
            magnitude += std::fabs(p);
          }
          // f32 summation of `cols` terms: error ≤ cols·ε·Σ|p| in the worst case; in practice
          // far below. The budget below is ~4·√cols·ε, relative to Σ|p|.
          const double err = std::fabs(y[t * rows + r] - exact) / (magnitude + 1e-30);
          worst = std::max(worst, err);
        }
      CHECK(worst < 4 * std::sqrt(static_cast<double>(cols)) * 6e-8);
    });
  }
}

TEST_CASE("matvec - matmul of any token count and any row split agree bit for bit") {
  std::mt19937 rng(6);
  const int64_t rows = 45, cols = 768;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t max_tokens = 9;
  std::vector<float> x(max_tokens * cols);
  for (auto& v : x) v = normal(rng);
  for (TensorType type : kMatmulTypes) {
    const std::string name(dsv4::gguf::type_name(type));
    CAPTURE(name);
    const TestMatrix m = make_test_matrix(type, rows, cols, rng);
    dsv4::testing::for_each_target([&](const std::string&) {
      std::vector<float> single(max_tokens * rows);
      for (int64_t t = 0; t < max_tokens; ++t)
        matvec(m.view, x.data() + t * cols, single.data() + t * rows);
      for (int64_t tokens = 2; tokens <= max_tokens; ++tokens) {
        std::vector<float> batch(tokens * rows);
        // Split rows unevenly, as a scheduler might.
        matmul(m.view, x.data(), cols, tokens, batch.data(), rows, 0, 7);
        matmul(m.view, x.data(), cols, tokens, batch.data(), rows, 7, 30);
        matmul(m.view, x.data(), cols, tokens, batch.data(), rows, 30, rows);
        CAPTURE(tokens);
        CHECK(std::memcmp(batch.data(), single.data(), batch.size() * sizeof(float)) == 0);
      }
    });
  }
}

TEST_CASE("odd column counts use the zero-padded tail correctly") {
  std::mt19937 rng(8);
  for (int64_t cols : {1, 3, 17, 33, 100}) {
    std::vector<float> w(3 * cols), x(cols);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& v : w) v = normal(rng);
    for (auto& v : x) v = normal(rng);
    const MatrixView view = make_matrix(TensorType::F32, w.data(), 3, cols);
    dsv4::testing::for_each_target([&](const std::string&) {
      float y[3];
      matvec(view, x.data(), y);
      for (int r = 0; r < 3; ++r) {
        double exact = 0;
        for (int64_t k = 0; k < cols; ++k) exact += static_cast<double>(w[r * cols + k]) * x[k];
        CHECK(y[r] == doctest::Approx(exact).epsilon(1e-5));
      }
    });
  }
}

TEST_CASE("fast matvec is within int16 activation error of the exact product on every target") {
  std::mt19937 rng(11);
  const int64_t rows = 43, cols = 1024;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(cols);
  for (auto& v : x) v = normal(rng);
  std::vector<int16_t> q(cols);
  std::vector<float> scale(cols / 32);
  quantize_input_i16(x.data(), cols, q.data(), scale.data());
  const PreparedInput in{x.data(), q.data(), scale.data(), cols};
  for (TensorType type : kMatmulTypes) {
    const std::string name(dsv4::gguf::type_name(type));
    CAPTURE(name);
    const TestMatrix m = make_test_matrix(type, rows, cols, rng);
    dsv4::testing::for_each_target([&](const std::string&) {
      std::vector<float> y(rows), split(rows);
      matvec_fast(m.view, in, y.data(), 0, rows);
      matvec_fast(m.view, in, split.data(), 0, 5);
      matvec_fast(m.view, in, split.data(), 5, rows);
      CHECK(std::memcmp(y.data(), split.data(), rows * sizeof(float)) == 0);
      double worst = 0;
      for (int64_t r = 0; r < rows; ++r) {
        double exact = 0, magnitude = 0;
        for (int64_t k = 0; k < cols; ++k) {
          const double p = static_cast<double>(m.decoded[r * cols + k]) * x[k];
          exact += p;
          magnitude += std::fabs(p);
        }
        worst = std::max(worst, std::fabs(y[r] - exact) / magnitude);
      }
      // int16 activations: |error| per product ≤ amax/65534; bounded by ~3e-5 of Σ|w·x| here.
      CHECK(worst < 1e-4);
    });
  }
}

TEST_CASE("shared-KV attention with sinks matches a double reference on every target") {
  std::mt19937 rng(21);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t heads = 6, dim = 72, rows = 37;
  std::vector<float> q(heads * dim), keys(rows * dim), sinks(heads);
  for (auto& v : q) v = normal(rng);
  for (auto& v : keys) v = normal(rng);
  for (auto& v : sinks) v = normal(rng);
  const float scale = 0.2f;
  std::vector<double> expected(heads * dim, 0.0);
  for (int64_t h = 0; h < heads; ++h) {
    std::vector<double> s(rows);
    double mx = sinks[h];
    for (int64_t i = 0; i < rows; ++i) {
      double dot = 0;
      for (int64_t k = 0; k < dim; ++k)
        dot += static_cast<double>(q[h * dim + k]) * keys[i * dim + k];
      s[i] = dot * scale;
      mx = std::max(mx, s[i]);
    }
    double den = std::exp(sinks[h] - mx);
    for (int64_t i = 0; i < rows; ++i) den += std::exp(s[i] - mx);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t k = 0; k < dim; ++k)
        expected[h * dim + k] += std::exp(s[i] - mx) / den * keys[i * dim + k];
  }
  dsv4::testing::for_each_target([&](const std::string&) {
    std::vector<float> scores(heads * rows), out(heads * dim);
    shared_kv_attention(q.data(), heads, dim, keys.data(), rows, sinks.data(), scale, scores.data(),
                        out.data());
    double worst = 0;
    for (int64_t i = 0; i < heads * dim; ++i)
      worst = std::max(worst, std::fabs(out[i] - expected[i]));
    CHECK(worst < 1e-5);
    // Splitting heads gives the same bits.
    std::vector<float> split(heads * dim);
    shared_kv_attention(q.data(), 2, dim, keys.data(), rows, sinks.data(), scale, scores.data(),
                        split.data());
    shared_kv_attention(q.data() + 2 * dim, heads - 2, dim, keys.data(), rows, sinks.data() + 2,
                        scale, scores.data() + 2 * rows, split.data() + 2 * dim);
    CHECK(std::memcmp(split.data(), out.data(), out.size() * sizeof(float)) == 0);
  });
}

TEST_CASE("AMX matmul is within 1e-5 of the exact product for every weight type") {
  if (!amx_available()) {
    MESSAGE("skipped: this CPU or kernel offers no AMX-BF16");
    return;
  }
  std::mt19937 rng(31);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  struct Shape {
    int64_t rows, cols;
    std::vector<int64_t> tokens;
    bool block256;  // the column count suits the 256-element formats too
  };
  // Row counts that are not multiples of 32; columns that do not fill a 256-block, or that
  // span several column chunks; token counts below one tile, across tiles and across groups.
  const Shape shapes[] = {{45, 544, {1, 17, 40}, false}, {37, 2304, {5, 150}, true}};
  for (const Shape& shape : shapes)
    for (int64_t tokens : shape.tokens) {
      const int64_t rows = shape.rows, cols = shape.cols;
      std::vector<float> x(tokens * cols);
      for (auto& v : x) v = normal(rng);
      AmxInput in;
      prepare_amx_input(x.data(), cols, tokens, cols, in);
      for (TensorType type : kMatmulTypes) {
        const bool needs_256 =
            type == TensorType::Q2_K || type == TensorType::Q4_K || type == TensorType::IQ2_XXS;
        if (needs_256 && !shape.block256) continue;
        const std::string name(dsv4::gguf::type_name(type));
        CAPTURE(name);
        CAPTURE(tokens);
        CAPTURE(cols);
        const TestMatrix m = make_test_matrix(type, rows, cols, rng);
        std::vector<float> y(tokens * rows);
        matmul_amx(m.view, in, y.data(), rows, 0, 13);
        matmul_amx(m.view, in, y.data(), rows, 13, rows);
        double worst = 0;
        for (int64_t t = 0; t < tokens; ++t)
          for (int64_t r = 0; r < rows; ++r) {
            double exact = 0, magnitude = 0;
            for (int64_t k = 0; k < cols; ++k) {
              const double p = static_cast<double>(m.decoded[r * cols + k]) * x[t * cols + k];
              exact += p;
              magnitude += std::fabs(p);
            }
            worst = std::max(worst, std::fabs(y[t * rows + r] - exact) / magnitude);
          }
        CHECK(worst < 1e-5);
      }
    }
}

// The AMX packing applies MXFP4 block scales by adding to the bf16 exponent field where that
// is exact and multiplies in f32 elsewhere; every row here has its own scale, from one whose
// products with the activations' low bf16 halves stay normal in f32 (AMX flushes denormals)
// to one whose sums stay finite.
TEST_CASE("the AMX peak probe counts the multiply-adds it issues") {
  const int64_t expected = amx_available() ? 3 * 4 * 16 * 16 * 32 : 0;
  CHECK(amx_peak_probe(3) == expected);
}

TEST_CASE("AMX matmul is exact per row across the MXFP4 block-scale range") {
  if (!amx_available()) {
    MESSAGE("skipped: this CPU or kernel offers no AMX-BF16");
    return;
  }
  std::mt19937 rng(37);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t rows = 40, cols = 96, tokens = 3;
  const size_t stride = row_bytes(TensorType::MXFP4, cols);
  std::vector<uint8_t> bytes(stride * rows);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < cols / 32; ++b) {
      auto& block = *reinterpret_cast<BlockMxfp4*>(bytes.data() + r * stride + b * 17);
      block.e = static_cast<uint8_t>(20 + r * (236 - 20) / (rows - 1));  // 2^-108 .. 2^108
      for (auto& q : block.qs) q = static_cast<uint8_t>(rng());
    }
  const MatrixView w = make_matrix(TensorType::MXFP4, bytes.data(), rows, cols);
  std::vector<float> decoded(rows * cols), x(tokens * cols), y(tokens * rows);
  for (int64_t r = 0; r < rows; ++r)
    decode_row_reference(TensorType::MXFP4, w.row(r), 0, cols, decoded.data() + r * cols);
  for (auto& v : x) v = normal(rng);
  AmxInput in;
  prepare_amx_input(x.data(), cols, tokens, cols, in);
  matmul_amx(w, in, y.data(), rows, 0, rows);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      double exact = 0, magnitude = 0;
      for (int64_t k = 0; k < cols; ++k) {
        const double p = static_cast<double>(decoded[r * cols + k]) * x[t * cols + k];
        exact += p;
        magnitude += std::fabs(p);
      }
      CAPTURE(r);
      CHECK(std::fabs(y[t * rows + r] - exact) <= 1e-5 * magnitude);
    }
}
