#include "apps/generation_record.h"

#include <cstdio>
#include <cstdlib>

#include "base/error.h"

namespace dsv4::apps {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// A float as it was given (0.05, not 0.05000000074505806); reading it back as a float gives
// the same value.
double decimal(float v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", v);
  return std::strtod(text, nullptr);
}

const json& field(const json& object, const char* name) {
  if (!object.is_object() || !object.contains(name))
    fail("verify: the result has no \"", name, "\" field (was it written by `dsv4 run --json`?)");
  return object.at(name);
}

template <class T>
T get(const json& object, const char* name) {
  try {
    return field(object, name).get<T>();
  } catch (const json::exception&) {
    fail("verify: field \"", name, "\" has the wrong type");
  }
}

}  // namespace

ordered_json record_to_json(const GenerationRecord& r) {
  ordered_json j;
  j["model_file"] = r.model_file;
  j["model_hash"] = r.model_hash;
  j["context"] = r.session.context;
  j["chunk"] = r.session.chunk;
  j["precision"] = r.session.precision == engine::Precision::kRef ? "ref" : "fast";
  j["target"] = r.target;
  j["restored_state"] = r.restored_state;
  j["seed"] = r.sampling.seed;
  j["temperature"] = decimal(r.sampling.temperature);
  j["top_k"] = r.sampling.top_k;
  j["top_p"] = decimal(r.sampling.top_p);
  j["min_p"] = decimal(r.sampling.min_p);
  j["max_tokens"] = r.max_tokens;
  j["stop"] = r.stop;
  j["mode"] = r.mode == render::ThinkingMode::kThinking ? "thinking" : "chat";
  j["prompt_token_ids"] = r.prompt_tokens;
  j["generated_token_ids"] = r.generated;
  return j;
}

GenerationRecord record_from_json(const json& j) {
  GenerationRecord r;
  r.model_file = get<std::string>(j, "model_file");
  r.model_hash = get<std::string>(j, "model_hash");
  r.session.context = get<int64_t>(j, "context");
  r.session.chunk = get<int64_t>(j, "chunk");
  if (r.session.context <= 0 || r.session.chunk <= 0)
    fail("verify: context and chunk must be positive");
  const std::string precision = get<std::string>(j, "precision");
  if (precision != "ref" && precision != "fast")
    fail("verify: precision must be \"ref\" or \"fast\", not \"", precision, "\"");
  r.session.precision = precision == "ref" ? engine::Precision::kRef : engine::Precision::kFast;
  r.target = get<std::string>(j, "target");
  r.restored_state = get<bool>(j, "restored_state");
  r.sampling.seed = get<uint64_t>(j, "seed");
  r.sampling.temperature = get<float>(j, "temperature");
  r.sampling.top_k = get<int32_t>(j, "top_k");
  r.sampling.top_p = get<float>(j, "top_p");
  r.sampling.min_p = get<float>(j, "min_p");
  r.max_tokens = get<int64_t>(j, "max_tokens");
  r.stop = get<std::vector<std::string>>(j, "stop");
  const std::string mode = get<std::string>(j, "mode");
  if (mode != "thinking" && mode != "chat")
    fail("verify: mode must be \"thinking\" or \"chat\", not \"", mode, "\"");
  r.mode = mode == "thinking" ? render::ThinkingMode::kThinking : render::ThinkingMode::kChat;
  r.prompt_tokens = get<std::vector<int32_t>>(j, "prompt_token_ids");
  r.generated = get<std::vector<int32_t>>(j, "generated_token_ids");
  if (r.prompt_tokens.empty()) fail("verify: the recorded prompt has no tokens");
  return r;
}

}  // namespace dsv4::apps
