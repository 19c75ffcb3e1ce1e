#include "engine/rope.h"

#include <algorithm>
#include <cmath>

#include "simd/ops.h"

namespace dsv4::engine {

RopeTable::RopeTable(const ModelConfig& c, bool yarn) {
  const int dims = c.rope_dim;
  const double base = yarn ? c.compress_rope_base : c.rope_base;
  frequencies_.resize(static_cast<size_t>(dims / 2));
  for (int k = 0; k < dims / 2; ++k)
    frequencies_[static_cast<size_t>(k)] = 1.0 / std::pow(base, 2.0 * k / dims);
  if (!yarn) return;
  // Pair index where a rotation completes `rotations` turns over the original context.
  auto correction_dim = [&](double rotations) {
    return dims * std::log(c.yarn_orig_ctx / (rotations * 2 * M_PI)) / (2 * std::log(base));
  };
  const double low = std::max(std::floor(correction_dim(c.yarn_beta_fast)), 0.0);
  double high =
      std::min(std::ceil(correction_dim(c.yarn_beta_slow)), static_cast<double>(dims - 1));
  if (low == high) high += 0.001;
  for (int k = 0; k < dims / 2; ++k) {
    const double ramp = std::clamp((k - low) / (high - low), 0.0, 1.0);
    double& f = frequencies_[static_cast<size_t>(k)];
    f = f / c.yarn_factor * ramp + f * (1.0 - ramp);
  }
}

void RopeTable::angles(int64_t pos, float* cos, float* sin) const {
  for (size_t k = 0; k < frequencies_.size(); ++k) {
    const double angle = static_cast<double>(pos) * frequencies_[k];
    cos[k] = static_cast<float>(std::cos(angle));
    sin[k] = static_cast<float>(std::sin(angle));
  }
}

void RopeTable::rotate(float* head_tail, int64_t pos, bool inverse) const {
  float cos[256], sin[256];
  angles(pos, cos, sin);
  simd::rope_rotate(head_tail, cos, sin, pairs(), inverse);
}

void RopeTable::rotate_heads(float* head_tail, int heads, int64_t head_stride, int64_t pos,
                             bool inverse) const {
  float cos[256], sin[256];
  angles(pos, cos, sin);
  for (int h = 0; h < heads; ++h)
    simd::rope_rotate(head_tail + h * head_stride, cos, sin, pairs(), inverse);
}

}  // namespace dsv4::engine
