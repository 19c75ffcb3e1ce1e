// The lightning indexer (MODEL.md §5.5) of ratio-4 layers: scores every visible compressed
// row against the token's indexer queries, Σ_h w_h·ReLU(q_h·k), and keeps the top-k rows
// (ties go to the lower row index). Queries and keys pass through a Hadamard rotation and
// the FP4 simulation, as in the model's training graph.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/index_keys.h"
#include "engine/model_config.h"
#include "engine/rope.h"
#include "simd/indexer_int8.h"

namespace dsv4::engine {

struct IndexerScratch {
  std::vector<float> queries;      // heads × dim
  std::vector<float> keys;         // visible rows × dim (decoded; ref)
  std::vector<float> head_scores;  // heads × visible rows (ref)
  std::vector<float> totals;       // visible rows
  std::vector<int32_t> order;
  simd::Fp4Queries fp4_queries;     // the queries as FP4 codes (fast)
  std::vector<float> head_weights;  // heads: w_h / √(dim·heads) (fast)
};

// `queries`: the raw projection (heads × dim) of the normalised q-latent; `weights`: the raw
// head-weight projection (heads). Writes the selected row indices (ascending) to `selected`.
void indexer_select(const ModelConfig& c, const RopeTable& rope, int64_t pos, const float* queries,
                    const float* weights, const IndexKeys& keys, int64_t n_visible,
                    IndexerScratch& scratch, std::vector<int32_t>& selected);

}  // namespace dsv4::engine
