// The logits of every position of a token sequence, evaluated in one session with the given
// precision and prefill chunk (chunk 1 is exactly what decoding does, one token per step).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model.h"
#include "engine/session.h"

namespace dsv4::testing {

std::vector<float> all_logits(const engine::Model& model, const std::vector<int32_t>& tokens,
                              engine::Precision precision, int64_t chunk,
                              engine::Session::LayerObserver observer = nullptr);

}  // namespace dsv4::testing
