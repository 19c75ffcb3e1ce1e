#include "simd/ops.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace dsv4::simd {
namespace {

// ceil(log2(y)) for finite y > 0, exactly (no libm rounding): y = m·2^e with m in [0.5, 1).
int ceil_log2(float y) {
  int e = 0;
  const float m = std::frexp(y, &e);
  return m == 0.5f ? e - 1 : e;
}

}  // namespace

double sum_of_squares(const float* x, int64_t n) {
  // One running sum in index order is a chain of dependent adds, latency-bound at a quarter of
  // an element per cycle; the hyper-connection norms over 16384 values made that ~6% of
  // prefill. Eight independent sums vectorize and keep the result a fixed function of x.
  constexpr int kSums = 8;
  double sums[kSums] = {};
  int64_t i = 0;
  for (; i + kSums <= n; i += kSums)
    for (int j = 0; j < kSums; ++j) sums[j] += static_cast<double>(x[i + j]) * x[i + j];
  for (int j = 0; i < n; ++i, ++j) sums[j] += static_cast<double>(x[i]) * x[i];
  double s = 0;
  for (double partial : sums) s += partial;
  return s;
}

void rms_norm(const float* x, const float* w, int64_t n, float eps, float* y) {
  const float scale =
      1.0f / std::sqrt(static_cast<float>(sum_of_squares(x, n) / static_cast<double>(n)) + eps);
  if (w != nullptr) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
  }
}

float sigmoid(float x) {
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}

float silu(float x) {
  return x * sigmoid(x);
}

float softplus(float x) {
  if (x > 20.0f) return x;
  return std::log1p(std::exp(x));
}

void rope_rotate(float* x, const float* cos, const float* sin, int n_pairs, bool inverse) {
  for (int k = 0; k < n_pairs; ++k) {
    const float c = cos[k], s = inverse ? -sin[k] : sin[k];
    const float x0 = x[2 * k], x1 = x[2 * k + 1];
    x[2 * k] = x0 * c - x1 * s;
    x[2 * k + 1] = x0 * s + x1 * c;
  }
}

float round_e4m3(float v) {
  const float a = std::fabs(v);
  if (a == 0.0f) return v;
  int e = 0;
  std::frexp(a, &e);                         // a = m·2^e, m in [0.5, 1): leading bit is 2^(e-1)
  const int exponent = std::max(e - 1, -6);  // below 2^-6 the grid is the subnormal step 2^-9
  const float quantum = std::ldexp(1.0f, exponent - 3);
  const float rounded = std::nearbyint(a / quantum) * quantum;  // default mode: ties to even
  return std::copysign(std::min(rounded, 448.0f), v);
}

float round_e2m1(float v) {
  // Nearest of 0, 0.5, 1, 1.5, 2, 3, 4, 6 with ties to the even code: each midpoint goes to
  // the value with the even code (0.25 → 0, 0.75 → 1, 1.25 → 1, 1.75 → 2, 2.5 → 2, 3.5 → 4,
  // 5 → 4). Selects rather than a search over the grid; NaN gives ±0.
  const float a = std::min(std::fabs(v), 6.0f);
  float r = 0.0f;
  r = a > 0.25f ? 0.5f : r;
  r = a >= 0.75f ? 1.0f : r;
  r = a > 1.25f ? 1.5f : r;
  r = a >= 1.75f ? 2.0f : r;
  r = a > 2.5f ? 3.0f : r;
  r = a >= 3.5f ? 4.0f : r;
  r = a > 5.0f ? 6.0f : r;
  return std::copysign(r, v);
}

void simulate_fp8_e4m3(float* x, int64_t n, int block) {
  for (int64_t b = 0; b < n; b += block) {
    float amax = 0.0f;
    for (int i = 0; i < block; ++i) amax = std::max(amax, std::fabs(x[b + i]));
    amax = std::max(amax, 1e-4f);
    const float scale = std::ldexp(1.0f, ceil_log2(amax / 448.0f));
    for (int i = 0; i < block; ++i) {
      const float q = std::clamp(x[b + i] / scale, -448.0f, 448.0f);
      x[b + i] = round_e4m3(q) * scale;
    }
  }
}

void simulate_fp4_e2m1(float* x, int64_t n, int block) {
  for (int64_t b = 0; b < n; b += block) {
    float amax = 0.0f;
    for (int i = 0; i < block; ++i) amax = std::max(amax, std::fabs(x[b + i]));
    amax = std::max(amax, 7.052966104933725e-38f);  // 6·2^-126
    const float scale = std::ldexp(1.0f, ceil_log2(amax / 6.0f));
    // scale is a power of two in [2^-126, 2^126]: multiplying by its inverse is the division.
    const float inverse = 1.0f / scale;
    for (int i = 0; i < block; ++i) {
      const float q = std::clamp(x[b + i] * inverse, -6.0f, 6.0f);
      x[b + i] = round_e2m1(q) * scale;
    }
  }
}

void hadamard_transform(float* x, int n) {
  for (int h = 1; h < n; h *= 2) {
    for (int i = 0; i < n; i += 2 * h) {
      for (int j = i; j < i + h; ++j) {
        const float a = x[j], b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
    }
  }
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(n)));
  for (int i = 0; i < n; ++i) x[i] *= scale;
}

void top_k(const float* values, int64_t n, int64_t k, std::vector<int32_t>& out) {
  k = std::min(k, n);
  out.resize(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), 0);
  // NaN ranks below everything so that the ordering stays strict and weak.
  auto key = [values](int32_t i) { return std::isnan(values[i]) ? -INFINITY : values[i]; };
  auto better = [&key](int32_t a, int32_t b) {
    return key(a) > key(b) || (key(a) == key(b) && a < b);
  };
  if (k < n) std::nth_element(out.begin(), out.begin() + k, out.end(), better);
  out.resize(static_cast<size_t>(k));
  std::sort(out.begin(), out.end(), better);
}

int64_t argmax(const float* values, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (values[i] > values[best]) best = i;
  return best;
}

}  // namespace dsv4::simd
