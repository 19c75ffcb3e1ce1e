#include "engine/compressor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "simd/ops.h"

namespace dsv4::engine {
namespace {

// Softmax over the window's slots, per dimension, then the weighted sum of the values; the
// slot order is previous-window lane A, then current-window lane B (or the current window).
void pool(const CompressorFrontier& f, float* out) {
  const int W = f.width, R = f.ratio;
  const int stride = f.lanes * W;
  const int lane_b = f.lanes == 2 ? W : 0;
  for (int j = 0; j < W; ++j) {
    float mx = -INFINITY;
    if (f.lanes == 2)
      for (int i = 0; i < R; ++i) mx = std::max(mx, f.prev_score[static_cast<size_t>(i * W + j)]);
    for (int i = 0; i < R; ++i)
      mx = std::max(mx, f.score[static_cast<size_t>(i * stride + lane_b + j)]);
    float sum = 0;
    if (f.lanes == 2)
      for (int i = 0; i < R; ++i)
        sum += std::exp(f.prev_score[static_cast<size_t>(i * W + j)] - mx);
    for (int i = 0; i < R; ++i)
      sum += std::exp(f.score[static_cast<size_t>(i * stride + lane_b + j)] - mx);
    float acc = 0;
    if (f.lanes == 2)
      for (int i = 0; i < R; ++i) {
        const size_t k = static_cast<size_t>(i * W + j);
        acc += f.prev_kv[k] * (std::exp(f.prev_score[k] - mx) / sum);
      }
    for (int i = 0; i < R; ++i) {
      const size_t k = static_cast<size_t>(i * stride + lane_b + j);
      acc += f.kv[k] * (std::exp(f.score[k] - mx) / sum);
    }
    out[j] = acc;
  }
}

}  // namespace

bool compressor_step(const CompressorWeights& w, const RopeTable& rope, int rope_dim, float eps,
                     CompressedLane lane, int64_t pos, const float* kv, const float* score,
                     CompressorFrontier& f, float* row) {
  const int R = f.ratio, W = f.width, stride = f.lanes * W;
  const int slot = static_cast<int>(pos % R);
  const float* ape = w.ape.data() + static_cast<size_t>(slot) * stride;
  float* kv_slot = f.kv.data() + static_cast<size_t>(slot) * stride;
  float* score_slot = f.score.data() + static_cast<size_t>(slot) * stride;
  std::memcpy(kv_slot, kv, static_cast<size_t>(stride) * sizeof(float));
  for (int j = 0; j < stride; ++j) score_slot[j] = score[j] + ape[j];
  if ((pos + 1) % R != 0) return false;

  pool(f, row);
  simd::rms_norm(row, w.norm.data(), W, eps, row);
  rope.rotate(row + (W - rope_dim), pos + 1 - R);
  if (lane == CompressedLane::kAttention) {
    simd::simulate_fp8_e4m3(row, W - rope_dim, 64);
  } else {
    simd::hadamard_transform(row, W);
    simd::simulate_fp4_e2m1(row, W, 32);
  }
  if (f.lanes == 2) {
    // This window's lane A becomes the previous window of the next row.
    for (int i = 0; i < R; ++i) {
      std::memcpy(f.prev_kv.data() + static_cast<size_t>(i) * W,
                  f.kv.data() + static_cast<size_t>(i) * stride,
                  static_cast<size_t>(W) * sizeof(float));
      std::memcpy(f.prev_score.data() + static_cast<size_t>(i) * W,
                  f.score.data() + static_cast<size_t>(i) * stride,
                  static_cast<size_t>(W) * sizeof(float));
    }
  }
  return true;
}

}  // namespace dsv4::engine
