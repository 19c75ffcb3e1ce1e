// The attention sublayer of one layer for a chunk of consecutive tokens (MODEL.md §5.3–5.5).
// Projections run as matrix products over the whole chunk; the rest runs token by token in
// order (RoPE, the QAT simulations, cache updates, compressors, indexer, attention), so each
// token sees exactly the rows that token-by-token decoding would give it.
#pragma once

#include <cstdint>

#include "engine/kv_state.h"
#include "engine/model.h"
#include "engine/scratch.h"

namespace dsv4::engine {

// Reads s.normed (the attention-normalised input, T × hidden) and writes s.y (T × hidden).
void attention_layer(const Model& model, int layer, int64_t pos0, int64_t n, LayerState& state,
                     ForwardScratch& s);

}  // namespace dsv4::engine
