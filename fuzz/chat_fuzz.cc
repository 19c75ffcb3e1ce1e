// Chat rendering of untrusted messages (`dsv4 render`, and every server request after its
// API's own checks): any JSON must render or be refused with a dsv4::Error; a JSON library
// exception escaping would be a 500 in the server. The first byte picks the options.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "base/json_limits.h"
#include "render/chat.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  dsv4::render::ChatOptions options;
  options.mode =
      data[0] & 1 ? dsv4::render::ThinkingMode::kChat : dsv4::render::ThinkingMode::kThinking;
  options.effort =
      data[0] & 2 ? dsv4::render::ReasoningEffort::kMax : dsv4::render::ReasoningEffort::kHigh;
  options.drop_thinking = data[0] & 4;
  options.add_bos = data[0] & 8;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (dsv4::json_nesting_depth(text) > dsv4::JsonLimits{}.max_depth) return 0;
  const auto messages = nlohmann::ordered_json::parse(text, nullptr, false);
  if (messages.is_discarded()) return 0;
  try {
    (void)dsv4::render::render_chat(messages, options);
  } catch (const dsv4::Error&) {
  }
  return 0;
}
