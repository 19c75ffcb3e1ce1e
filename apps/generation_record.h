// What determines a generation, recorded with its result so that `dsv4 verify` can run it
// again and compare: the model (file and content hash), the session's shape (context,
// prefill chunk, precision, SIMD target), every token the session held when generation
// started, and the sampling and stopping rules. With these the engine's output is a pure
// function: the same tokens on any run, thread count or machine of the same target.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/sampler.h"
#include "engine/session.h"
#include "render/prompt_format.h"

namespace dsv4::apps {

struct GenerationRecord {
  std::string model_file;
  std::string model_hash;  // "xxh64:..." (apps/model_hash.h)
  engine::SessionOptions session;
  std::string target;                  // Highway target name
  std::vector<int32_t> prompt_tokens;  // the session's tokens when generation started
  // True when those tokens were restored from a saved state (--session, --kv-dir) rather
  // than prefilled in chunks from the start: `fast` results may then differ in the last bits.
  bool restored_state = false;
  engine::SamplerOptions sampling;
  int64_t max_tokens = -1;
  std::vector<std::string> stop;
  render::ThinkingMode mode = render::ThinkingMode::kThinking;
  std::vector<int32_t> generated;  // the result being recorded
};

nlohmann::ordered_json record_to_json(const GenerationRecord& record);
// Throws dsv4::Error naming the first missing or malformed field.
GenerationRecord record_from_json(const nlohmann::json& json);

}  // namespace dsv4::apps
