#include "engine/moe_layer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/parallel.h"
#include "simd/ops.h"

namespace dsv4::engine {
namespace {

struct Route {
  int32_t expert;
  int32_t token;
  float weight;
};

void swiglu(const float* gate, const float* up, int64_t n, float clamp, float scale, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = std::min(gate[i], clamp);
    const float u = std::clamp(up[i], -clamp, clamp);
    out[i] = (simd::silu(g) * u) * scale;
  }
}

// Experts and weights of every token of the chunk, ordered by expert then token so that
// each expert's weights are read once per chunk and every token sums its experts in
// ascending expert order, as DeepSeek's reference does.
void route(const Model& model, int layer, const int32_t* tokens, int64_t n, const ForwardScratch& s,
           std::vector<Route>& routes) {
  const ModelConfig& c = model.config();
  const LayerWeights& L = model.weights().layers[static_cast<size_t>(layer)];
  const int E = c.n_experts, K = c.n_experts_used;
  routes.clear();
  std::vector<float> scores(static_cast<size_t>(E)), biased(static_cast<size_t>(E));
  std::vector<int32_t> chosen;
  for (int64_t t = 0; t < n; ++t) {
    for (int e = 0; e < E; ++e)
      scores[static_cast<size_t>(e)] = std::sqrt(simd::softplus(s.router[t * E + e]));
    if (L.token_to_experts != nullptr) {
      const int32_t* row = L.token_to_experts + static_cast<int64_t>(tokens[t]) * K;
      chosen.assign(row, row + K);
    } else {
      for (int e = 0; e < E; ++e)
        biased[static_cast<size_t>(e)] =
            scores[static_cast<size_t>(e)] +
            (L.router_bias.empty() ? 0.0f : L.router_bias[static_cast<size_t>(e)]);
      simd::top_k(biased.data(), E, K, chosen);
    }
    float sum = 0;
    for (int32_t e : chosen) sum += scores[static_cast<size_t>(e)];
    sum = std::max(sum, std::numeric_limits<float>::min());
    for (int32_t e : chosen)
      routes.push_back(
          {e, static_cast<int32_t>(t), scores[static_cast<size_t>(e)] / sum * c.route_scale});
  }
  std::stable_sort(routes.begin(), routes.end(),
                   [](const Route& a, const Route& b) { return a.expert < b.expert; });
}

}  // namespace

void moe_layer(const Model& model, int layer, const int32_t* tokens, int64_t n, ForwardScratch& s) {
  const ModelConfig& c = model.config();
  const LayerWeights& L = model.weights().layers[static_cast<size_t>(layer)];
  const int64_t D = c.hidden, F = c.expert_ffn;
  parallel_matmul(L.router, s.normed.data(), D, n, s.router.data(), c.n_experts);
  std::vector<Route> routes;
  route(model, layer, tokens, n, s, routes);

  std::fill(s.routed.begin(), s.routed.begin() + n * D, 0.0f);
  std::vector<int32_t> members;
  std::vector<float> weights;
  const float clamp = c.swiglu_clamp[static_cast<size_t>(layer)];
  for (size_t i = 0; i < routes.size();) {
    const int32_t e = routes[i].expert;
    members.clear();
    weights.clear();
    for (; i < routes.size() && routes[i].expert == e; ++i) {
      members.push_back(routes[i].token);
      weights.push_back(routes[i].weight);
    }
    // A hash table may list an expert twice for one token, so an expert can have more
    // routes than the chunk has tokens: take them in slices that fit the buffers.
    for (size_t first = 0; first < members.size(); first += static_cast<size_t>(s.tokens)) {
      const int64_t m = std::min<int64_t>(s.tokens, static_cast<int64_t>(members.size() - first));
      const int32_t* rows = members.data() + first;
      for (int64_t k = 0; k < m; ++k)
        std::memcpy(s.expert_in.data() + k * D, s.normed.data() + rows[k] * D, D * sizeof(float));
      parallel_matmul(L.gate_exps.expert(e), s.expert_in.data(), D, m, s.gate.data(), F);
      parallel_matmul(L.up_exps.expert(e), s.expert_in.data(), D, m, s.up.data(), F);
      for (int64_t k = 0; k < m; ++k)
        swiglu(s.gate.data() + k * F, s.up.data() + k * F, F, clamp,
               weights[first + static_cast<size_t>(k)], s.gate.data() + k * F);
      parallel_matmul(L.down_exps.expert(e), s.gate.data(), F, m, s.expert_out.data(), D);
      for (int64_t k = 0; k < m; ++k) {
        float* dst = s.routed.data() + rows[k] * D;
        const float* src = s.expert_out.data() + k * D;
        for (int64_t d = 0; d < D; ++d) dst[d] += src[d];
      }
    }
  }

  if (!L.has_shared_expert) {
    std::copy(s.routed.begin(), s.routed.begin() + n * D, s.y.begin());
    return;
  }
  parallel_matmul(L.shared_gate, s.normed.data(), D, n, s.gate.data(), F);
  parallel_matmul(L.shared_up, s.normed.data(), D, n, s.up.data(), F);
  const float shared_clamp = c.swiglu_clamp_shared[static_cast<size_t>(layer)];
  for (int64_t t = 0; t < n; ++t)
    swiglu(s.gate.data() + t * F, s.up.data() + t * F, F, shared_clamp, 1.0f,
           s.gate.data() + t * F);
  parallel_matmul(L.shared_down, s.gate.data(), F, n, s.y.data(), D);
  for (int64_t i = 0; i < n * D; ++i)
    s.y[static_cast<size_t>(i)] = s.routed[static_cast<size_t>(i)] + s.y[static_cast<size_t>(i)];
}

}  // namespace dsv4::engine
