#include "engine/scratch.h"

#include <algorithm>

namespace dsv4::engine {

namespace {

// Single-token batches: every route plus the shared expert; the largest batch is the gate
// and up products of all of them, the output groups, or the attention's products of the
// normed input (q_a, kv, two compressor and three indexer projections).
constexpr int64_t kAttentionInputProducts = 7;
int64_t moe_slots(const ModelConfig& c) {
  return static_cast<int64_t>(c.n_experts_used) + 1;
}
int64_t one_token_products(const ModelConfig& c) {
  return std::max<int64_t>({2 * moe_slots(c), c.o_groups, kAttentionInputProducts});
}
// Values quantized at once: the SwiGLU outputs of every slot, or all heads.
int64_t one_token_quantized(const ModelConfig& c) {
  return std::max(moe_slots(c) * c.expert_ffn, static_cast<int64_t>(c.n_heads) * c.head_dim);
}

// Visits every buffer with the number of floats it needs; init() allocates, planned_bytes()
// only counts, so the two cannot disagree.
template <class Visit>
void for_each_buffer(ForwardScratch& s, const ModelConfig& c, int64_t T, int64_t context,
                     Visit&& visit) {
  auto size = [&](std::vector<float>& v, int64_t per_token) { visit(v, T * per_token); };
  const int64_t D = c.hidden, hc = c.hc_count;
  size(s.streams, hc * D);
  size(s.x, D);
  size(s.normed, D);
  size(s.mixes, 2 * hc + hc * hc);
  size(s.post, hc);
  size(s.comb, hc * hc);
  size(s.q_latent, c.q_lora_rank);
  size(s.q, static_cast<int64_t>(c.n_heads) * c.head_dim);
  size(s.kv, c.head_dim);
  size(s.comp_kv, 2 * static_cast<int64_t>(c.head_dim));
  size(s.comp_score, 2 * static_cast<int64_t>(c.head_dim));
  size(s.idx_kv, 2 * static_cast<int64_t>(c.indexer_dim));
  size(s.idx_score, 2 * static_cast<int64_t>(c.indexer_dim));
  size(s.idx_q, static_cast<int64_t>(c.indexer_heads) * c.indexer_dim);
  size(s.idx_w, c.indexer_heads);
  size(s.attn, static_cast<int64_t>(c.n_heads) * c.head_dim);
  size(s.low, static_cast<int64_t>(c.o_groups) * c.o_lora_rank);
  size(s.y, D);
  size(s.router, c.n_experts);
  size(s.gate, c.expert_ffn);
  size(s.up, c.expert_ffn);
  size(s.expert_in, D);
  size(s.expert_out, D);
  size(s.routed, D);
  visit(s.one_token.gate, moe_slots(c) * c.expert_ffn);
  visit(s.one_token.up, moe_slots(c) * c.expert_ffn);
  visit(s.one_token.out, moe_slots(c) * D);
  visit(s.one_token.q_scale, one_token_quantized(c) / 32 + one_token_products(c));

  // The most rows one token attends: the window plus every compressed row of the
  // least-compressed layer (ratio-4 layers attend at most top-k of theirs).
  int64_t max_rows = std::min<int64_t>(c.window, context);
  for (int l = 0; l < c.n_layers; ++l) {
    const int r = c.ratio(l);
    if (r == 0) continue;
    const int64_t visible = context / r;
    max_rows = std::max(
        max_rows, std::min<int64_t>(c.window, context) +
                      (c.has_indexer(l) ? std::min<int64_t>(visible, c.indexer_topk) : visible));
  }
  visit(s.keys, max_rows * c.head_dim);
  visit(s.scores, max_rows * c.n_heads);
  visit(s.row, c.head_dim);

  // The indexer scores every visible row of its layer.
  int64_t index_rows = 0;
  for (int l = 0; l < c.n_layers; ++l)
    if (c.has_indexer(l)) index_rows = std::max<int64_t>(index_rows, context / c.ratio(l));
  if (index_rows > 0) {
    const int64_t heads = c.indexer_heads;
    visit(s.indexer.queries, heads * c.indexer_dim);
    visit(s.indexer.keys, index_rows * c.indexer_dim);
    visit(s.indexer.head_scores, heads * index_rows);
    visit(s.indexer.totals, index_rows);
    visit(s.indexer.head_weights, heads);
  }
}

}  // namespace

void ForwardScratch::init(const ModelConfig& c, int64_t T, int64_t context) {
  tokens = T;
  for_each_buffer(*this, c, T, context,
                  [](std::vector<float>& v, int64_t n) { v.assign(static_cast<size_t>(n), 0.0f); });
  // Index buffers grow to these sizes while evaluating; reserving now keeps decode allocation-free.
  const size_t routes_per_chunk = static_cast<size_t>(T) * static_cast<size_t>(c.n_experts_used);
  routes.reserve(routes_per_chunk);
  route_members.reserve(routes_per_chunk);
  route_weights.reserve(routes_per_chunk);
  expert_scores.reserve(static_cast<size_t>(c.n_experts));
  expert_biased.reserve(static_cast<size_t>(c.n_experts));
  chosen.reserve(std::max(static_cast<size_t>(c.n_experts), routes_per_chunk));
  expert_offsets.reserve(static_cast<size_t>(c.n_experts));
  one_token.q.assign(static_cast<size_t>(one_token_quantized(c)), 0);
  one_token.products.reserve(static_cast<size_t>(one_token_products(c)));

  indexer.fp4_queries.reserve(c.indexer_heads, c.indexer_dim);
  selected.reserve(indexer.totals.size() + static_cast<size_t>(c.indexer_topk));
  indexer.order.reserve(indexer.totals.size());
}

uint64_t ForwardScratch::planned_bytes(const ModelConfig& c, int64_t tokens, int64_t context) {
  ForwardScratch unused;
  uint64_t total = 0;
  for_each_buffer(unused, c, tokens, context, [&total](std::vector<float>&, int64_t n) {
    total += static_cast<uint64_t>(n) * 4;
  });
  total += simd::Fp4Queries::reserved_bytes(c.indexer_heads, c.indexer_dim);
  total += static_cast<uint64_t>(one_token_quantized(c)) * sizeof(int16_t) +
           static_cast<uint64_t>(one_token_products(c)) * sizeof(OneTokenProduct);
  // Fast prefill on AMX also holds the chunk's input to one projection as bf16 hi and lo
  // tiles (ProjectionScratch::amx_input), sized for the widest input.
  const int64_t widest = std::max(
      {static_cast<int64_t>(c.hidden), static_cast<int64_t>(c.q_lora_rank),
       static_cast<int64_t>(c.expert_ffn), static_cast<int64_t>(c.o_groups) * c.o_lora_rank});
  total += static_cast<uint64_t>((tokens + 15) / 16 * 16 * widest) * 4;
  return total;
}

}  // namespace dsv4::engine
