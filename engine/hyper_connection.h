// Manifold-constrained hyper-connections (MODEL.md §5.2): the residual stream is hc_count
// parallel copies. Before each sublayer the copies are mixed into one input with sigmoid
// gates; after it, the output and the copies are recombined through a doubly stochastic
// matrix obtained by Sinkhorn normalisation. The output head collapses the copies with
// sigmoid weights only.
#pragma once

#include <cstdint>

#include "engine/model_config.h"
#include "engine/model_weights.h"
#include "engine/projection.h"

namespace dsv4::engine {

// Per-token results of the pre step, consumed by the post step.
struct HcMix {
  float* post;  // [hc]
  float* comb;  // [hc × hc], comb[j·hc + k]: weight of input copy j in output copy k
};

// For tokens t < n: streams[t] is hc × hidden. Writes the sublayer input x[t] (hidden) and
// the post/comb mixes (post[t·hc..], comb[t·hc²..]). `mixes` is scratch of n × (2hc + hc²).
void hc_pre(const ModelConfig& c, const HyperConnectionWeights& w, const float* streams, int64_t n,
            float* x, float* post, float* comb, float* mixes, ProjectionScratch& projection);

// streams[t] ← post ⊗ y[t] + combᵀ · streams[t].
void hc_post(const ModelConfig& c, const float* y, const float* post, const float* comb, int64_t n,
             float* streams);

// Output head collapse: x[t] = Σ_i sigmoid-weighted streams. `mixes` is scratch of n × hc.
void hc_collapse(const ModelConfig& c, const HyperConnectionWeights& w, const float* streams,
                 int64_t n, float* x, float* mixes, ProjectionScratch& projection);

}  // namespace dsv4::engine
