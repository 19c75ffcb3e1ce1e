// Activation buffers of one forward chunk, sized once for the largest chunk a session runs,
// so that evaluating tokens does not allocate.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/indexer.h"
#include "engine/model_config.h"
#include "engine/projection.h"

namespace dsv4::engine {

// One (expert, token) pair of a chunk's routing, with the token's weight for that expert.
struct ExpertRoute {
  int32_t expert;
  int32_t token;
  float weight;
};

// One token in fast precision: a sublayer's independent products run as one batch
// (project_one_token_batch), so the inputs of every product in a batch live here at once.
struct OneTokenScratch {
  std::vector<float> gate, up;  // (experts used + 1) × expert_ffn: every route, then shared
  std::vector<float> out;       // (experts used + 1) × hidden
  // Quantized inputs of one batch: the SwiGLU outputs of every route, or the head groups.
  std::vector<int16_t> q;
  std::vector<float> q_scale;
  std::vector<OneTokenProduct> products;  // capacity for the largest batch
};

struct ForwardScratch {
  int64_t tokens = 0;  // capacity in tokens

  std::vector<float> streams;   // T × hc × hidden: the residual hyper-connection copies
  std::vector<float> x;         // T × hidden: sublayer input after hc_pre
  std::vector<float> normed;    // T × hidden
  std::vector<float> mixes;     // T × (2hc + hc²)
  std::vector<float> post;      // T × hc
  std::vector<float> comb;      // T × hc²
  std::vector<float> q_latent;  // T × q_lora_rank
  std::vector<float> q;         // T × heads × head_dim
  std::vector<float> kv;        // T × head_dim
  std::vector<float> comp_kv, comp_score;  // T × 2·head_dim
  std::vector<float> idx_kv, idx_score;    // T × 2·indexer_dim
  std::vector<float> idx_q;                // T × indexer heads × indexer_dim
  std::vector<float> idx_w;                // T × indexer heads
  std::vector<float> attn;                 // T × heads × head_dim
  std::vector<float> low;                  // T × groups × o_lora_rank
  std::vector<float> y;                    // T × hidden: sublayer output
  std::vector<float> router;               // T × experts
  std::vector<float> gate, up;    // T × expert_ffn (shared expert, then routed per expert)
  std::vector<float> expert_in;   // T × hidden (tokens routed to one expert)
  std::vector<float> expert_out;  // T × hidden
  std::vector<float> routed;      // T × hidden

  // Per-token attention work.
  std::vector<float> keys;    // (window + visible compressed rows) × head_dim
  std::vector<float> scores;  // heads × that many rows
  std::vector<float> row;     // head_dim
  std::vector<int32_t> selected;
  IndexerScratch indexer;
  // MoE routing of a chunk (capacities reserved for chunk × experts used).
  std::vector<ExpertRoute> routes;
  std::vector<int32_t> route_members;
  std::vector<float> route_weights;
  std::vector<float> expert_scores, expert_biased;
  std::vector<int32_t> chosen;  // experts of one token, then the expert of each sorted route
  std::vector<int32_t> expert_offsets;  // counting sort by expert
  OneTokenScratch one_token;

  ProjectionScratch projection;

  void init(const ModelConfig& c, int64_t tokens, int64_t context);
  // What init() allocates for these sizes.
  static uint64_t planned_bytes(const ModelConfig& c, int64_t tokens, int64_t context);
};

}  // namespace dsv4::engine
