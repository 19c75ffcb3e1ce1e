// SwiGLU and softmax numerators: the vector kernels against the scalar functions on every
// target, including the tails shorter than a vector and the clamp's edges.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "simd/activation.h"
#include "simd/half.h"
#include "simd/ops.h"
#include "tests/support/targets.h"

using namespace dsv4::simd;

namespace {

// Distance in units in the last place between two finite floats of the same sign (or zeros).
int64_t ulps(float a, float b) {
  if (a == b) return 0;
  return std::llabs(static_cast<int64_t>(f32_to_bits(a)) - static_cast<int64_t>(f32_to_bits(b)));
}

float scalar_swiglu(float gate, float up, float clamp, float scale) {
  const float g = std::min(gate, clamp);
  const float u = std::clamp(up, -clamp, clamp);
  return (silu(g) * u) * scale;
}

}  // namespace

TEST_CASE("swiglu equals the scalar SwiGLU within one ulp of e^x on every target") {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  // 67 elements: whole vectors on every width and a tail.
  std::vector<float> gate(67), up(67);
  for (auto& v : gate) v = normal(rng);
  for (auto& v : up) v = normal(rng);
  gate[0] = -200.0f;  // e^200 would overflow: σ must still be 0, not NaN
  gate[1] = 200.0f;
  gate[2] = 0.0f;
  up[3] = 50.0f;  // clamped to 10
  for (float clamp : {10.0f, std::numeric_limits<float>::infinity()}) {
    CAPTURE(clamp);
    dsv4::testing::for_each_target([&](const std::string&) {
      for (int64_t n : {int64_t{1}, int64_t{5}, int64_t{16}, int64_t{67}}) {
        CAPTURE(n);
        std::vector<float> out(static_cast<size_t>(n), -1.0f);
        swiglu(gate.data(), up.data(), n, clamp, 0.75f, out.data());
        int64_t worst = 0;
        for (int64_t i = 0; i < n; ++i) {
          const float want = scalar_swiglu(gate[i], up[i], clamp, 0.75f);
          REQUIRE(std::isfinite(out[i]));
          // One ulp of e^x becomes at most a few after the division and three products.
          worst = std::max(worst, ulps(out[i], want));
        }
        CHECK(worst <= 4);
      }
      // In place, as the MoE calls it for its gate buffer.
      std::vector<float> in_place = gate, expected(gate.size());
      swiglu(gate.data(), up.data(), 67, clamp, 1.0f, expected.data());
      swiglu(in_place.data(), up.data(), 67, clamp, 1.0f, in_place.data());
      CHECK(in_place == expected);
    });
  }
}

TEST_CASE("exp_shifted_sum gives e^(x - shift) within one ulp and their sum on every target") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-40.0f, 0.0f);
  std::vector<float> x(131);
  for (auto& v : x) v = uniform(rng);
  x[5] = 0.0f;  // the maximum itself: e^0 = 1 exactly
  dsv4::testing::for_each_target([&](const std::string&) {
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{32}, int64_t{131}}) {
      CAPTURE(n);
      std::vector<float> y(x.begin(), x.begin() + n);
      const float sum = exp_shifted_sum(y.data(), n, 0.0f);
      double want_sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        const float want = std::exp(x[i]);
        CHECK(ulps(y[i], want) <= 1);
        want_sum += want;
      }
      CHECK(std::fabs(sum - want_sum) <= 1e-6 * want_sum);
      if (n > 5) CHECK(y[5] == 1.0f);
    }
  });
}
