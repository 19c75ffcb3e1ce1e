#include "engine/attention_layer.h"

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "engine/compressor.h"
#include "engine/parallel.h"
#include "engine/projection.h"
#include "simd/attention.h"
#include "simd/ops.h"

namespace dsv4::engine {
namespace {

// The norms that follow the input projections: of the query latent (before q_b), of each
// head's query, and of the KV row.
void norm_query_latent(const ModelConfig& c, const LayerWeights& L, int64_t n, ForwardScratch& s) {
  const int64_t Q = c.q_lora_rank;
  for_each_token(n, [&](int64_t t) {
    simd::rms_norm(s.q_latent.data() + t * Q, L.q_a_norm.data(), Q, c.norm_eps,
                   s.q_latent.data() + t * Q);
  });
}

void norm_heads_and_kv(const ModelConfig& c, const LayerWeights& L, int64_t n, ForwardScratch& s) {
  const int64_t hd = c.head_dim;
  for_each_token(n, [&](int64_t t) {
    for (int64_t h = t * c.n_heads; h < (t + 1) * c.n_heads; ++h)
      simd::rms_norm(s.q.data() + h * hd, nullptr, hd, c.norm_eps, s.q.data() + h * hd);
    simd::rms_norm(s.kv.data() + t * hd, L.kv_norm.data(), hd, c.norm_eps, s.kv.data() + t * hd);
  });
}

// One token in fast precision: the products that read the normed input form one batch, and
// the two that read the query latent another (see project_one_token_batch).
void project_inputs_one_token(const ModelConfig& c, const LayerWeights& L, ForwardScratch& s) {
  const int64_t D = c.hidden, Q = c.q_lora_rank;
  std::vector<OneTokenProduct>& batch = s.one_token.products;
  auto prepare = [&](const float* x, int64_t cols, std::initializer_list<simd::MatrixView> ws) {
    bool quantize = false;
    for (const simd::MatrixView& w : ws) quantize = quantize || reads_int16_input(w.type);
    return prepare_one_token(x, cols, quantize, s.projection.q.data(), s.projection.q_scale.data());
  };

  const simd::PreparedInput x =
      prepare(s.normed.data(), D,
              {L.q_a, L.kv, L.compressor.kv, L.compressor.gate, L.indexer_compressor.kv,
               L.indexer_compressor.gate, L.indexer_proj});
  batch.clear();
  batch.push_back({L.q_a, x, s.q_latent.data()});
  batch.push_back({L.kv, x, s.kv.data()});
  if (L.has_compressor) {
    batch.push_back({L.compressor.kv, x, s.comp_kv.data()});
    batch.push_back({L.compressor.gate, x, s.comp_score.data()});
  }
  if (L.has_indexer) {
    batch.push_back({L.indexer_compressor.kv, x, s.idx_kv.data()});
    batch.push_back({L.indexer_compressor.gate, x, s.idx_score.data()});
    batch.push_back({L.indexer_proj, x, s.idx_w.data()});
  }
  project_one_token_batch(batch.data(), batch.size());
  norm_query_latent(c, L, 1, s);

  const simd::PreparedInput latent = prepare(s.q_latent.data(), Q, {L.q_b, L.indexer_q_b});
  batch.clear();
  batch.push_back({L.q_b, latent, s.q.data()});
  if (L.has_indexer) batch.push_back({L.indexer_q_b, latent, s.idx_q.data()});
  project_one_token_batch(batch.data(), batch.size());
  norm_heads_and_kv(c, L, 1, s);
}

// Queries, the KV row and the compressor/indexer projections for the whole chunk.
void project_inputs(const Model& model, int layer, int64_t n, ForwardScratch& s) {
  const ModelConfig& c = model.config();
  const LayerWeights& L = model.weights().layers[static_cast<size_t>(layer)];
  const int64_t D = c.hidden, Q = c.q_lora_rank, hd = c.head_dim;
  const int64_t q_width = static_cast<int64_t>(c.n_heads) * hd;
  if (n == 1 && s.projection.fast) {
    project_inputs_one_token(c, L, s);
    return;
  }
  project(L.q_a, s.normed.data(), D, n, s.q_latent.data(), Q, s.projection);
  norm_query_latent(c, L, n, s);
  project(L.q_b, s.q_latent.data(), Q, n, s.q.data(), q_width, s.projection);
  project(L.kv, s.normed.data(), D, n, s.kv.data(), hd, s.projection);
  norm_heads_and_kv(c, L, n, s);
  if (L.has_compressor) {
    const int64_t width = L.compressor.kv.rows;
    project(L.compressor.kv, s.normed.data(), D, n, s.comp_kv.data(), width, s.projection);
    project(L.compressor.gate, s.normed.data(), D, n, s.comp_score.data(), width, s.projection);
  }
  if (L.has_indexer) {
    const int64_t width = L.indexer_compressor.kv.rows;
    project(L.indexer_compressor.kv, s.normed.data(), D, n, s.idx_kv.data(), width, s.projection);
    project(L.indexer_compressor.gate, s.normed.data(), D, n, s.idx_score.data(), width,
            s.projection);
    const int64_t iq = static_cast<int64_t>(c.indexer_heads) * c.indexer_dim;
    project(L.indexer_q_b, s.q_latent.data(), Q, n, s.idx_q.data(), iq, s.projection);
    project(L.indexer_proj, s.normed.data(), D, n, s.idx_w.data(), c.indexer_heads, s.projection);
  }
}

// One token: cache updates in order, then attention over the window and the visible
// compressed rows; writes the head outputs (inverse-rotated) to `out`.
void attend(const Model& model, int layer, int64_t pos, int64_t t, LayerState& state,
            ForwardScratch& s, float* out) {
  const ModelConfig& c = model.config();
  const LayerWeights& L = model.weights().layers[static_cast<size_t>(layer)];
  const RopeTable& rope = model.rope(layer);
  const int hd = c.head_dim, rd = c.rope_dim, H = c.n_heads;
  float* q = s.q.data() + t * H * hd;
  rope.rotate_heads(q + (hd - rd), H, hd, pos);

  float* kv = s.kv.data() + t * hd;
  rope.rotate(kv + (hd - rd), pos);
  simd::simulate_fp8_e4m3(kv, hd - rd, 64);
  state.raw.store(pos % state.raw.capacity(), kv);

  if (L.has_compressor) {
    const int64_t width = L.compressor.kv.rows;
    if (compressor_step(L.compressor, rope, rd, c.norm_eps, CompressedLane::kAttention, pos,
                        s.comp_kv.data() + t * width, s.comp_score.data() + t * width,
                        state.frontier, s.row.data()))
      state.compressed.push(s.row.data());
  }
  if (L.has_indexer) {
    const int64_t width = L.indexer_compressor.kv.rows;
    if (compressor_step(L.indexer_compressor, rope, rd, c.norm_eps, CompressedLane::kIndexer, pos,
                        s.idx_kv.data() + t * width, s.idx_score.data() + t * width,
                        state.index_frontier, s.row.data()))
      state.index_rows.push(s.row.data());
  }

  // Keys: the raw window (positions pos−window+1 .. pos), then the visible compressed rows.
  const int64_t n_raw = std::min<int64_t>(pos + 1, state.raw.capacity());
  // Rows are decoded into s.keys by independent tasks.
  auto gather = [&](const RowStore& store, int64_t count, int64_t first_key, auto row_of) {
    parallel_ranges(count, 64, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) store.read(row_of(i), s.keys.data() + (first_key + i) * hd);
    });
  };
  gather(state.raw, n_raw, 0, [](int64_t i) { return i; });
  int64_t n_keys = n_raw;
  if (L.has_compressor) {
    const int64_t visible = state.compressed.size();
    if (L.has_indexer && visible > c.indexer_topk) {
      const int64_t iq = static_cast<int64_t>(c.indexer_heads) * c.indexer_dim;
      indexer_select(c, rope, pos, s.idx_q.data() + t * iq, s.idx_w.data() + t * c.indexer_heads,
                     state.index_rows, visible, s.indexer, s.selected);
      const auto count = static_cast<int64_t>(s.selected.size());
      gather(state.compressed, count, n_keys,
             [&](int64_t i) { return s.selected[static_cast<size_t>(i)]; });
      n_keys += count;
    } else {
      gather(state.compressed, visible, n_keys, [](int64_t i) { return i; });
      n_keys += visible;
    }
  }
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  // Heads are independent: split them across tasks (results do not depend on the split).
  parallel_ranges(H, 8, [&](int64_t h0, int64_t h1) {
    simd::shared_kv_attention(q + h0 * hd, h1 - h0, hd, s.keys.data(), n_keys, L.sinks.data() + h0,
                              scale, s.scores.data() + h0 * n_keys, out + h0 * hd);
  });

  rope.rotate_heads(out + (hd - rd), H, hd, pos, /*inverse=*/true);
}

}  // namespace

void attention_layer(const Model& model, int layer, int64_t pos0, int64_t n, LayerState& state,
                     ForwardScratch& s) {
  const ModelConfig& c = model.config();
  const LayerWeights& L = model.weights().layers[static_cast<size_t>(layer)];
  project_inputs(model, layer, n, s);
  const int64_t head_width = static_cast<int64_t>(c.n_heads) * c.head_dim;
  for (int64_t t = 0; t < n; ++t)
    attend(model, layer, pos0 + t, t, state, s, s.attn.data() + t * head_width);

  // Grouped low-rank output: group g's heads (a contiguous slice) through its own rows of out_a.
  const int64_t group_width = head_width / c.o_groups, rank = c.o_lora_rank;
  const int64_t low_width = static_cast<int64_t>(c.o_groups) * rank;
  if (n == 1 && s.projection.fast) {
    // One token: the groups are one batch, each with its own quantized slice.
    std::vector<OneTokenProduct>& batch = s.one_token.products;
    batch.clear();
    for (int g = 0; g < c.o_groups; ++g) {
      const simd::MatrixView rows = L.out_a.row_slice(g * rank, rank);
      batch.push_back(
          {rows,
           prepare_one_token(s.attn.data() + g * group_width, group_width,
                             reads_int16_input(rows.type), s.one_token.q.data() + g * group_width,
                             s.one_token.q_scale.data() + g * (group_width / 32 + 1)),
           s.low.data() + g * rank});
    }
    project_one_token_batch(batch.data(), batch.size());
  } else {
    for (int g = 0; g < c.o_groups; ++g) {
      const simd::MatrixView rows = L.out_a.row_slice(g * rank, rank);
      project(rows, s.attn.data() + g * group_width, head_width, n, s.low.data() + g * rank,
              low_width, s.projection);
    }
  }
  project(L.out_b, s.low.data(), low_width, n, s.y.data(), c.hidden, s.projection);
}

}  // namespace dsv4::engine
