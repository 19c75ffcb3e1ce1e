#include "apps/saved_conversation.h"

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "engine/session_file.h"

namespace dsv4::apps {
namespace {

using nlohmann::ordered_json;

constexpr const char* kFormatKey = "dsv4_conversation";
constexpr int kFormat = 1;

std::string conversation_metadata(const SavedConversation& c) {
  ordered_json j;
  j[kFormatKey] = kFormat;
  j["messages"] = c.messages ? *c.messages : ordered_json(nullptr);
  j["thinking"] = c.thinking.mode == render::ThinkingMode::kThinking ? "thinking" : "chat";
  j["effort"] = c.thinking.effort == render::ReasoningEffort::kMax ? "max" : "high";
  const std::vector<uint8_t> bytes = ordered_json::to_msgpack(j);
  return {bytes.begin(), bytes.end()};
}

SavedConversation parse_metadata(std::string_view metadata, const std::string& path) {
  const ordered_json j =
      ordered_json::from_msgpack(metadata, /*strict=*/true, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains(kFormatKey) || j[kFormatKey] != kFormat)
    fail(path, ": holds no conversation saved by dsv4 chat or dsv4 run");
  SavedConversation c;
  const ordered_json& messages = j.contains("messages") ? j["messages"] : ordered_json();
  if (messages.is_array()) {
    c.messages = messages;
  } else if (!messages.is_null()) {
    fail(path, ": its conversation's \"messages\" is neither an array nor null");
  }
  const auto text = [&](const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  const std::string thinking = text("thinking"), effort = text("effort");
  if ((thinking != "thinking" && thinking != "chat") || (effort != "high" && effort != "max"))
    fail(path, ": its conversation's thinking mode '", thinking, "' or effort '", effort,
         "' is unknown");
  c.thinking.mode =
      thinking == "thinking" ? render::ThinkingMode::kThinking : render::ThinkingMode::kChat;
  c.thinking.effort =
      effort == "max" ? render::ReasoningEffort::kMax : render::ReasoningEffort::kHigh;
  return c;
}

}  // namespace

ordered_json assistant_message(const std::string& text, render::ThinkingMode mode) {
  std::string reasoning, content = text;
  if (mode == render::ThinkingMode::kThinking) {
    const size_t end = text.find(render::kThinkEnd);
    reasoning = text.substr(0, end);
    content = end == std::string::npos ? "" : text.substr(end + render::kThinkEnd.size());
  }
  return {{"role", "assistant"}, {"content", content}, {"reasoning_content", reasoning}};
}

void save_conversation(const std::string& path, LiveSession& live,
                       const SavedConversation& conversation) {
  engine::save_session_file(path, live.session(), conversation_metadata(conversation));
}

SavedConversation load_conversation(const std::string& path, LiveSession& live,
                                    bool require_messages) {
  SavedConversation conversation;
  engine::load_session_file(path, live.session(),
                            [&](std::string_view metadata, const engine::SessionSnapshot&) {
                              conversation = parse_metadata(metadata, path);
                              if (require_messages && !conversation.messages)
                                fail(path,
                                     ": holds a raw prompt, not a conversation (dsv4 run "
                                     "--raw --session appends text to it)");
                            });
  live.state_replaced();
  return conversation;
}

}  // namespace dsv4::apps
