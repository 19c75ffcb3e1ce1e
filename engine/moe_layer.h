// The FFN sublayer (MODEL.md §5.6): a router scores the experts with sqrt(softplus(logit));
// hash layers take their experts from a token → experts table, the others the top-k of the
// scores plus a selection-only bias; the chosen scores, renormalised and scaled, weight
// clamped SwiGLU experts (applied before the down projection). A shared expert is added.
#pragma once

#include <cstdint>

#include "engine/model.h"
#include "engine/scratch.h"

namespace dsv4::engine {

// Reads s.normed (T × hidden) and the chunk's token ids; writes s.y (T × hidden).
void moe_layer(const Model& model, int layer, const int32_t* tokens, int64_t n, ForwardScratch& s);

}  // namespace dsv4::engine
