// Scalar ops against straightforward definitions.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "simd/half.h"
#include "simd/ops.h"

using namespace dsv4::simd;

namespace {

// The definition: the nearest E2M1 value of min(|v|, 6), a tie going to the even code.
float nearest_e2m1(float v) {
  static const float kGrid[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const float a = std::min(std::fabs(v), 6.0f);
  int best = 0;
  for (int i = 1; i < 8; ++i) {
    const float d_best = std::fabs(a - kGrid[best]);
    const float d = std::fabs(a - kGrid[i]);
    if (d < d_best || (d == d_best && i % 2 == 0)) best = i;
  }
  return std::copysign(kGrid[best], v);
}

}  // namespace

TEST_CASE("round_e2m1 is the nearest E2M1 value with ties to the even code") {
  std::vector<float> inputs;
  // Every float from 0 to 8 on a 1/4096 grid, and both neighbours of each: the midpoints and
  // the floats either side of them are all in.
  for (int k = 0; k <= 8 * 4096; ++k) {
    const float v = static_cast<float>(k) / 4096.0f;
    inputs.push_back(v);
    inputs.push_back(std::nextafter(v, 0.0f));
    inputs.push_back(std::nextafter(v, 10.0f));
  }
  inputs.push_back(std::numeric_limits<float>::infinity());
  inputs.push_back(std::numeric_limits<float>::denorm_min());
  inputs.push_back(1e30f);
  int mismatches = 0;
  for (float v : inputs)
    for (float s : {v, -v})
      if (f32_to_bits(round_e2m1(s)) != f32_to_bits(nearest_e2m1(s))) ++mismatches;
  CHECK(mismatches == 0);
  CHECK(round_e2m1(0.25f) == 0.0f);
  CHECK(round_e2m1(0.75f) == 1.0f);
  CHECK(round_e2m1(-1.25f) == -1.0f);
  CHECK(round_e2m1(1.75f) == 2.0f);
  CHECK(round_e2m1(2.5f) == 2.0f);
  CHECK(round_e2m1(3.5f) == 4.0f);
  CHECK(round_e2m1(5.0f) == 4.0f);
  CHECK(std::signbit(round_e2m1(-0.1f)));
  CHECK(round_e2m1(std::numeric_limits<float>::quiet_NaN()) == 0.0f);
}
