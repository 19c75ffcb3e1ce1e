#include "engine/moe_layer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/parallel.h"
#include "engine/projection.h"
#include "simd/activation.h"
#include "simd/ops.h"

namespace dsv4::engine {
namespace {

// Experts and weights of every token of the chunk, ordered by expert then token (a counting
// sort, stable and allocation-free) so that each expert's weights are read once per chunk and
// every token sums its experts in ascending expert order, as DeepSeek's reference does.
void route(const Model& model, int layer, const int32_t* tokens, int64_t n, ForwardScratch& s) {
  const ModelConfig& c = model.config();
  const LayerWeights& L = model.weights().layers[static_cast<size_t>(layer)];
  const int E = c.n_experts, K = c.n_experts_used;
  s.routes.clear();
  s.expert_scores.resize(static_cast<size_t>(E));
  s.expert_biased.resize(static_cast<size_t>(E));
  for (int64_t t = 0; t < n; ++t) {
    for (int e = 0; e < E; ++e)
      s.expert_scores[static_cast<size_t>(e)] = std::sqrt(simd::softplus(s.router[t * E + e]));
    if (L.token_to_experts != nullptr) {
      const int32_t* row = L.token_to_experts + static_cast<int64_t>(tokens[t]) * K;
      s.chosen.assign(row, row + K);
    } else {
      for (int e = 0; e < E; ++e)
        s.expert_biased[static_cast<size_t>(e)] =
            s.expert_scores[static_cast<size_t>(e)] +
            (L.router_bias.empty() ? 0.0f : L.router_bias[static_cast<size_t>(e)]);
      simd::top_k(s.expert_biased.data(), E, K, s.chosen);
    }
    float sum = 0;
    for (int32_t e : s.chosen) sum += s.expert_scores[static_cast<size_t>(e)];
    sum = std::max(sum, std::numeric_limits<float>::min());
    for (int32_t e : s.chosen)
      s.routes.push_back({e, static_cast<int32_t>(t),
                          s.expert_scores[static_cast<size_t>(e)] / sum * c.route_scale});
  }
  // Counting sort by expert into route_members / route_weights.
  std::vector<int32_t>& next = s.expert_offsets;
  next.assign(static_cast<size_t>(E), 0);
  for (const ExpertRoute& r : s.routes) ++next[static_cast<size_t>(r.expert)];
  int32_t offset = 0;
  for (int32_t& v : next) {
    const int32_t here = v;
    v = offset;
    offset += here;
  }
  s.route_members.resize(s.routes.size());
  s.route_weights.resize(s.routes.size());
  s.chosen.resize(s.routes.size());  // expert of each sorted slot
  for (const ExpertRoute& r : s.routes) {
    const auto slot = static_cast<size_t>(next[static_cast<size_t>(r.expert)]++);

    s.route_members[slot] = r.token;
    s.route_weights[slot] = r.weight;
    s.chosen[slot] = r.expert;
  }
}

// One token in fast precision. The gate and up products of every route and of the shared
// expert run as one batch, and their down products as another: the threads meet twice per
// layer instead of three times per expert, and each batch streams all its weights at once.
// Each product, the SwiGLU and the sums are the same operations in the same order as the
// per-expert path, so the result does not change, except when a hash table lists an expert
// twice for the token: the per-expert path runs that as one two-token (f32) product.
void moe_one_token(const Model& model, int layer, ForwardScratch& s) {
  const ModelConfig& c = model.config();
  const LayerWeights& L = model.weights().layers[static_cast<size_t>(layer)];
  const int64_t D = c.hidden, F = c.expert_ffn;
  OneTokenScratch& m = s.one_token;
  const size_t routes = s.route_members.size();
  const size_t slots = routes + (L.has_shared_expert ? 1 : 0);
  auto gate = [&](size_t j) { return m.gate.data() + j * static_cast<size_t>(F); };
  auto up = [&](size_t j) { return m.up.data() + j * static_cast<size_t>(F); };
  auto out = [&](size_t j) { return m.out.data() + j * static_cast<size_t>(D); };

  bool quantize = L.has_shared_expert && reads_int16_input(L.shared_gate.type);
  for (size_t j = 0; j < routes; ++j)
    quantize = quantize || reads_int16_input(L.gate_exps.expert(s.chosen[j]).type);
  const simd::PreparedInput x = prepare_one_token(
      s.normed.data(), D, quantize, s.projection.q.data(), s.projection.q_scale.data());
  m.products.clear();
  for (size_t j = 0; j < routes; ++j) {
    m.products.push_back({L.gate_exps.expert(s.chosen[j]), x, gate(j)});
    m.products.push_back({L.up_exps.expert(s.chosen[j]), x, up(j)});
  }
  if (L.has_shared_expert) {
    m.products.push_back({L.shared_gate, x, gate(routes)});
    m.products.push_back({L.shared_up, x, up(routes)});
  }
  project_one_token_batch(m.products.data(), m.products.size());

  const float clamp = c.swiglu_clamp[static_cast<size_t>(layer)];
  const float shared_clamp = c.swiglu_clamp_shared[static_cast<size_t>(layer)];
  m.products.clear();
  for (size_t j = 0; j < slots; ++j) {
    const bool routed = j < routes;
    simd::swiglu(gate(j), up(j), F, routed ? clamp : shared_clamp,
                 routed ? s.route_weights[j] : 1.0f, gate(j));
    const simd::MatrixView& down = routed ? L.down_exps.expert(s.chosen[j]) : L.shared_down;
    const int64_t q_offset = static_cast<int64_t>(j) * F;
    const int64_t scale_offset = static_cast<int64_t>(j) * (F / 32 + 1);
    m.products.push_back({down,
                          prepare_one_token(gate(j), F, reads_int16_input(down.type),
                                            m.q.data() + q_offset, m.q_scale.data() + scale_offset),
                          out(j)});
  }
  project_one_token_batch(m.products.data(), m.products.size());

  float* y = s.y.data();
  for (int64_t d = 0; d < D; ++d) {
    float routed = 0.0f;
    for (size_t j = 0; j < routes; ++j) routed += out(j)[d];
    y[d] = L.has_shared_expert ? routed + out(routes)[d] : routed;
  }
}

}  // namespace

void moe_layer(const Model& model, int layer, const int32_t* tokens, int64_t n, ForwardScratch& s) {
  const ModelConfig& c = model.config();
  const LayerWeights& L = model.weights().layers[static_cast<size_t>(layer)];
  const int64_t D = c.hidden, F = c.expert_ffn;
  project(L.router, s.normed.data(), D, n, s.router.data(), c.n_experts, s.projection);
  route(model, layer, tokens, n, s);
  if (n == 1 && s.projection.fast) {
    moe_one_token(model, layer, s);
    return;
  }

  std::fill(s.routed.begin(), s.routed.begin() + n * D, 0.0f);
  const float clamp = c.swiglu_clamp[static_cast<size_t>(layer)];
  const size_t total = s.route_members.size();
  for (size_t i = 0; i < total;) {
    const int32_t e = s.chosen[i];
    size_t end = i;
    while (end < total && s.chosen[end] == e) ++end;
    const int32_t* members = s.route_members.data() + i;
    const float* weights = s.route_weights.data() + i;
    const size_t count = end - i;
    i = end;
    // A hash table may list an expert twice for one token, so an expert can have more
    // routes than the chunk has tokens: take them in slices that fit the buffers.
    for (size_t first = 0; first < count; first += static_cast<size_t>(s.tokens)) {
      const int64_t m = std::min<int64_t>(s.tokens, static_cast<int64_t>(count - first));
      const int32_t* rows = members + first;
      for_each_token(m, [&](int64_t k) {
        std::memcpy(s.expert_in.data() + k * D, s.normed.data() + rows[k] * D, D * sizeof(float));
      });
      project(L.gate_exps.expert(e), s.expert_in.data(), D, m, s.gate.data(), F, s.projection);
      project(L.up_exps.expert(e), s.expert_in.data(), D, m, s.up.data(), F, s.projection);
      for_each_token(m, [&](int64_t k) {
        simd::swiglu(s.gate.data() + k * F, s.up.data() + k * F, F, clamp,
                     weights[first + static_cast<size_t>(k)], s.gate.data() + k * F);
      });
      project(L.down_exps.expert(e), s.gate.data(), F, m, s.expert_out.data(), D, s.projection);
      // Split by columns, not tokens: a token may appear twice in one expert's slice.
      parallel_ranges(D, m >= 8 ? 512 : D, [&](int64_t d0, int64_t d1) {
        for (int64_t k = 0; k < m; ++k) {
          float* dst = s.routed.data() + rows[k] * D;
          const float* src = s.expert_out.data() + k * D;
          for (int64_t d = d0; d < d1; ++d) dst[d] += src[d];
        }
      });
    }
  }

  if (!L.has_shared_expert) {
    std::copy(s.routed.begin(), s.routed.begin() + n * D, s.y.begin());
    return;
  }
  project(L.shared_gate, s.normed.data(), D, n, s.gate.data(), F, s.projection);
  project(L.shared_up, s.normed.data(), D, n, s.up.data(), F, s.projection);
  const float shared_clamp = c.swiglu_clamp_shared[static_cast<size_t>(layer)];
  for_each_token(n, [&](int64_t t) {
    simd::swiglu(s.gate.data() + t * F, s.up.data() + t * F, F, shared_clamp, 1.0f,
                 s.gate.data() + t * F);
  });
  project(L.shared_down, s.gate.data(), F, n, s.y.data(), D, s.projection);
  for_each_token(n, [&](int64_t t) {
    for (int64_t i = t * D; i < (t + 1) * D; ++i)
      s.y[static_cast<size_t>(i)] = s.routed[static_cast<size_t>(i)] + s.y[static_cast<size_t>(i)];
  });
}

}  // namespace dsv4::engine
