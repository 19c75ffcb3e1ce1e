// Quantizers: round-trip error within each format's budget on Gaussian data.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "simd/formats.h"
#include "simd/quantize.h"

using namespace dsv4::simd;

namespace {

// Relative RMS error of quantize → reference decode over `n` Gaussian values.
double round_trip_error(TensorType type, int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> x(n), y(n);
  for (auto& v : x) v = normal(rng);
  std::vector<uint8_t> q(row_bytes(type, n));
  quantize_row(type, x.data(), n, q.data());
  decode_row_reference(type, q.data(), 0, n, y.data());
  double err = 0, ref = 0;
  for (int64_t i = 0; i < n; ++i) {
    err += (x[i] - y[i]) * static_cast<double>(x[i] - y[i]);
    ref += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(err / ref);
}

}  // namespace

TEST_CASE("round-trip error budgets") {
  struct Budget {
    TensorType type;
    double max_relative_rms;
  };
  // Budgets sit just above what a Gaussian row measures (printed below), so a regression in
  // any quantizer fails here.
  const Budget budgets[] = {
      {TensorType::F32, 0.0},    {TensorType::BF16, 0.003}, {TensorType::F16, 0.0005},
      {TensorType::Q8_0, 0.006}, {TensorType::Q4_K, 0.09},  {TensorType::MXFP4, 0.15},
      {TensorType::Q2_K, 0.35},
  };
  for (const Budget& b : budgets) {
    const std::string name(dsv4::gguf::type_name(b.type));
    const double err = round_trip_error(b.type, 1 << 16, 17);
    MESSAGE(name, " relative RMS error ", err);
    CAPTURE(name);
    CHECK(err <= b.max_relative_rms);
  }
}

TEST_CASE("Q8_0 keeps the block maximum exactly up to the f16 scale") {
  std::vector<float> x(32, 0.0f);
  x[3] = -1.27f;
  x[7] = 0.5f;
  BlockQ8_0 b;
  quantize_row(TensorType::Q8_0, x.data(), 32, &b);
  CHECK(b.qs[3] == -127);
  CHECK(b.qs[7] == 50);
}
