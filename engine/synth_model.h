// `dsv4 synth`: a model with random weights of any DeepSeek V4 shape, written as GGUF with
// the same tensors, names and types as a converted release. Values come from a counter-based
// generator keyed by (seed, tensor name, index), so a file is the same on every machine and
// its rows can be generated in parallel. Each tensor kind gets the scale trained weights
// have, so activations stay in a realistic range.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/model_config.h"
#include "simd/formats.h"

namespace dsv4::gguf {
class GgufWriter;
}

namespace dsv4::engine {

// "tiny" (seconds to make; demos and tests) or "flash" (DeepSeek V4 Flash's shapes).
// `layers`, `experts`, `vocab` override the preset when positive.
ModelConfig synthetic_config(const std::string& preset, int layers, int experts, int vocab);

struct SynthOptions {
  ModelConfig config;
  uint64_t seed = 1;
  simd::TensorType expert_type = simd::TensorType::MXFP4;
  simd::TensorType dense_type = simd::TensorType::Q8_0;
  std::function<void(gguf::GgufWriter&)> write_extra_metadata;
  std::function<void(uint64_t done_bytes, uint64_t total_bytes)> progress;
};

struct SynthReport {
  uint64_t tensors = 0;
  uint64_t bytes = 0;
  std::vector<std::string> notes;
};

SynthReport write_synthetic_model(const std::string& path, const SynthOptions& options);

}  // namespace dsv4::engine
