#include "engine/hyper_connection.h"

#include <algorithm>
#include <cmath>

#include "engine/parallel.h"
#include "engine/projection.h"
#include "simd/ops.h"

namespace dsv4::engine {
namespace {

// mixes[t] = (fn · streams[t]) / rms(streams[t]): the projection of the RMS-normalised state,
// computed as the reference does (project first, then scale).
void project_normalized(const ModelConfig& c, const HyperConnectionWeights& w, const float* streams,
                        int64_t n, float* mixes, ProjectionScratch& projection) {
  const int64_t width = static_cast<int64_t>(c.hc_count) * c.hidden;
  const int64_t m = w.fn.rows;
  project(w.fn, streams, width, n, mixes, m, projection);
  for_each_token(n, [&](int64_t t) {
    const double mean =
        simd::sum_of_squares(streams + t * width, width) / static_cast<double>(width);
    const float r = static_cast<float>(1.0 / std::sqrt(mean + c.norm_eps));
    for (int64_t i = 0; i < m; ++i) mixes[t * m + i] *= r;
  });
}

// Row softmax, then alternating column and row normalisation: a doubly stochastic matrix.
void sinkhorn(const ModelConfig& c, float* comb) {
  const int h = c.hc_count;
  const float eps = c.hc_eps;
  for (int r = 0; r < h; ++r) {
    float* row = comb + r * h;
    const float mx = *std::max_element(row, row + h);
    float sum = 0;
    for (int k = 0; k < h; ++k) {
      row[k] = std::exp(row[k] - mx);
      sum += row[k];
    }
    for (int k = 0; k < h; ++k) row[k] = row[k] / sum + eps;
  }
  auto normalize_columns = [&] {
    for (int k = 0; k < h; ++k) {
      float sum = 0;
      for (int r = 0; r < h; ++r) sum += comb[r * h + k];
      for (int r = 0; r < h; ++r) comb[r * h + k] /= sum + eps;
    }
  };
  normalize_columns();
  for (int it = 1; it < c.hc_sinkhorn_iters; ++it) {
    for (int r = 0; r < h; ++r) {
      float sum = 0;
      for (int k = 0; k < h; ++k) sum += comb[r * h + k];
      for (int k = 0; k < h; ++k) comb[r * h + k] /= sum + eps;
    }
    normalize_columns();
  }
}

}  // namespace

void hc_pre(const ModelConfig& c, const HyperConnectionWeights& w, const float* streams, int64_t n,
            float* x, float* post, float* comb, float* mixes, ProjectionScratch& projection) {
  const int h = c.hc_count;
  const int64_t D = c.hidden, m = w.fn.rows;
  project_normalized(c, w, streams, n, mixes, projection);
  for_each_token(n, [&](int64_t t) {
    const float* mix = mixes + t * m;
    float pre[64] = {};
    for (int i = 0; i < h; ++i) {
      pre[i] = 1.0f / (1.0f + std::exp(-(mix[i] * w.scale[0] + w.base[static_cast<size_t>(i)]))) +
               c.hc_eps;
      post[t * h + i] =
          2.0f / (1.0f + std::exp(-(mix[h + i] * w.scale[1] + w.base[static_cast<size_t>(h + i)])));
    }
    float* cm = comb + t * h * h;
    for (int i = 0; i < h * h; ++i)
      cm[i] = mix[2 * h + i] * w.scale[2] + w.base[static_cast<size_t>(2 * h + i)];
    sinkhorn(c, cm);
    const float* s = streams + t * h * D;
    float* out = x + t * D;
    for (int64_t d = 0; d < D; ++d) {
      float acc = pre[0] * s[d];
      for (int i = 1; i < h; ++i) acc += pre[i] * s[i * D + d];
      out[d] = acc;
    }
  });
}

void hc_post(const ModelConfig& c, const float* y, const float* post, const float* comb, int64_t n,
             float* streams) {
  const int h = c.hc_count;
  const int64_t D = c.hidden;
  // Each hidden dimension mixes only its own h values, so the update works in place on
  // 16 dimensions at a time; the lane loops vectorise with each lane's arithmetic unchanged.
  constexpr int64_t kLanes = 16;
  for_each_token(n, [&](int64_t t) {
    float* s = streams + t * h * D;
    const float* cm = comb + t * h * h;
    const float* yt = y + t * D;
    for (int64_t d0 = 0; d0 < D; d0 += kLanes) {
      const int64_t lanes = std::min(kLanes, D - d0);
      float column[16][kLanes];
      for (int j = 0; j < h; ++j)
        for (int64_t l = 0; l < lanes; ++l) column[j][l] = s[j * D + d0 + l];
      for (int k = 0; k < h; ++k) {
        float acc[kLanes];
        for (int64_t l = 0; l < lanes; ++l) acc[l] = cm[0 * h + k] * column[0][l];
        for (int j = 1; j < h; ++j)
          for (int64_t l = 0; l < lanes; ++l) acc[l] += cm[j * h + k] * column[j][l];
        const float p = post[t * h + k];
        for (int64_t l = 0; l < lanes; ++l) s[k * D + d0 + l] = p * yt[d0 + l] + acc[l];
      }
    }
  });
}

void hc_collapse(const ModelConfig& c, const HyperConnectionWeights& w, const float* streams,
                 int64_t n, float* x, float* mixes, ProjectionScratch& projection) {
  const int h = c.hc_count;
  const int64_t D = c.hidden;
  project_normalized(c, w, streams, n, mixes, projection);
  for_each_token(n, [&](int64_t t) {
    float weight[64] = {};
    for (int i = 0; i < h; ++i)
      weight[i] =
          simd::sigmoid(mixes[t * h + i] * w.scale[0] + w.base[static_cast<size_t>(i)]) + c.hc_eps;
    const float* s = streams + t * h * D;
    for (int64_t d = 0; d < D; ++d) {
      float acc = weight[0] * s[d];
      for (int i = 1; i < h; ++i) acc += weight[i] * s[i * D + d];
      x[t * D + d] = acc;
    }
  });
}

}  // namespace dsv4::engine
