#include "apps/server/anthropic_request.h"

#include <algorithm>

#include "apps/server/api_error.h"

namespace dsv4::server {
namespace {

constexpr int64_t kMaxTokensLimit = int64_t{1} << 31;

std::string at(const std::string& where, size_t i) {
  return where + "[" + std::to_string(i) + "]";
}

std::string block_type(const Json& block, const std::string& where) {
  require_object(block, where);
  const std::optional<std::string> type = optional_string(block, "type", where);
  if (!type) invalid_field(field_path(where, "type"), "required");
  return *type;
}

std::string required_string(const Json& object, std::string_view key, const std::string& where) {
  const std::optional<std::string> value = optional_string(object, key, where);
  if (!value) invalid_field(field_path(where, key), "required");
  return *value;
}

// A string, or a list of text blocks (concatenated).
std::string text_of(const Json& value, const std::string& where) {
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_array())
    invalid_field(
        where, std::string("expected a string or a list of text blocks, got ") + type_name(value));
  std::string text;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string path = at(where, i);
    const std::string type = block_type(value[i], path);
    if (type != "text")
      invalid_field(field_path(path, "type"),
                    "only text blocks are supported here, got '" + type + "'");
    text += required_string(value[i], "text", path);
  }
  return text;
}

// A user message: its text, with each tool_result block becoming a tool message in place
// (the renderer merges them back into one user turn).
void convert_user(const Json& content, const std::string& where, Json& out) {
  if (content.is_string()) {
    out.push_back({{"role", "user"}, {"content", content.get<std::string>()}});
    return;
  }
  if (content.empty()) invalid_field(where, "must not be empty");
  bool after_text = false;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& block = content[i];
    const std::string path = at(where, i);
    const std::string type = block_type(block, path);
    if (type == "text") {
      const std::string text = required_string(block, "text", path);
      if (after_text)
        out.back()["content"] = out.back()["content"].get<std::string>() + text;
      else
        out.push_back({{"role", "user"}, {"content", text}});
      after_text = true;
    } else if (type == "tool_result") {
      after_text = false;
      Json result = {{"role", "tool"},
                     {"tool_call_id", required_string(block, "tool_use_id", path)},
                     {"content", ""}};
      if (const Json* c = member(block, "content"))
        result["content"] = text_of(*c, field_path(path, "content"));
      out.push_back(std::move(result));
    } else {
      invalid_field(field_path(path, "type"),
                    "unsupported content block '" + type + "' (text and tool_result are)");
    }
  }
}

Json convert_assistant(const Json& content, const std::string& where) {
  Json out = {{"role", "assistant"}, {"content", ""}};
  if (content.is_string()) {
    out["content"] = content.get<std::string>();
    return out;
  }
  std::string text, reasoning;
  Json calls = Json::array();
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& block = content[i];
    const std::string path = at(where, i);
    const std::string type = block_type(block, path);
    if (type == "text") {
      text += required_string(block, "text", path);
    } else if (type == "thinking") {
      reasoning += required_string(block, "thinking", path);
    } else if (type == "redacted_thinking") {
      continue;  // opaque to this server
    } else if (type == "tool_use") {
      const Json* input = member(block, "input");
      if (input != nullptr && !input->is_object())
        invalid_field(field_path(path, "input"),
                      std::string("expected an object, got ") + type_name(*input));
      calls.push_back({{"id", required_string(block, "id", path)},
                       {"type", "function"},
                       {"function",
                        {{"name", required_string(block, "name", path)},
                         {"arguments", input != nullptr ? *input : Json::object()}}}});
    } else {
      invalid_field(field_path(path, "type"),
                    "unsupported content block '" + type + "' (text, thinking and tool_use are)");
    }
  }
  out["content"] = text;
  if (!reasoning.empty()) out["reasoning_content"] = reasoning;
  if (!calls.empty()) out["tool_calls"] = std::move(calls);
  return out;
}

Json tools_of(const Json& body) {
  Json tools = Json::array();
  const Json* list = member(body, "tools");
  if (list == nullptr) return tools;
  if (!list->is_array())
    invalid_field("tools", std::string("expected a list, got ") + type_name(*list));
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& tool = (*list)[i];
    const std::string path = at("tools", i);
    require_object(tool, path);
    const std::optional<std::string> type = optional_string(tool, "type", path);
    if (type && *type != "custom")
      invalid_field(field_path(path, "type"),
                    "only custom tools are supported, got '" + *type + "'");
    Json fn = {{"name", required_string(tool, "name", path)}};
    if (auto description = optional_string(tool, "description", path))
      fn["description"] = *description;
    const Json* schema = member(tool, "input_schema");
    if (schema == nullptr) invalid_field(field_path(path, "input_schema"), "required");
    require_object(*schema, field_path(path, "input_schema"));
    fn["parameters"] = *schema;
    tools.push_back({{"type", "function"}, {"function", std::move(fn)}});
  }
  return tools;
}

ToolChoice tool_choice_of(const Json& body, const Json& tools) {
  ToolChoice choice;
  const Json* value = member(body, "tool_choice");
  if (value == nullptr) return choice;
  const std::string type = block_type(*value, "tool_choice");
  if (type == "none") {
    choice.mode = ToolChoice::Mode::kNone;
  } else if (type == "any") {
    choice.mode = ToolChoice::Mode::kRequired;
  } else if (type == "tool") {
    choice.mode = ToolChoice::Mode::kNamed;
    choice.name = required_string(*value, "name", "tool_choice");
    const bool known = std::any_of(tools.begin(), tools.end(), [&](const Json& t) {
      return t.at("function").at("name") == choice.name;
    });
    if (!known) invalid_field("tool_choice.name", "no tool named '" + choice.name + "'");
  } else if (type != "auto") {
    invalid_field("tool_choice.type", "expected auto, any, tool or none, got '" + type + "'");
  }
  if ((choice.mode == ToolChoice::Mode::kRequired || choice.mode == ToolChoice::Mode::kNamed) &&
      tools.empty())
    invalid_field("tool_choice", "a tool call is required but no tools are given");
  return choice;
}

}  // namespace

ChatRequest parse_anthropic_messages(const Json& body) {
  require_object(body, "");
  ChatRequest r;
  r.model = optional_string(body, "model").value_or("");
  const std::optional<int64_t> max_tokens =
      optional_integer(body, "max_tokens", 1, kMaxTokensLimit);
  if (!max_tokens) invalid_field("max_tokens", "required");
  r.max_tokens = *max_tokens;
  if (auto t = optional_number(body, "temperature", 0, 1)) r.sampling.temperature = float(*t);
  if (auto p = optional_number(body, "top_p", 0, 1)) r.sampling.top_p = float(*p);
  if (auto k = optional_integer(body, "top_k", 0, 1 << 24)) r.sampling.top_k = int32_t(*k);
  r.stop = stop_strings(body, "stop_sequences");
  r.stream = optional_bool(body, "stream").value_or(false);
  if (const Json* thinking = member(body, "thinking"))
    r.thinking.mode = thinking_enabled(*thinking, "thinking") ? render::ThinkingMode::kThinking
                                                              : render::ThinkingMode::kChat;
  if (const Json* config = member(body, "output_config")) {
    require_object(*config, "output_config");
    if (auto effort = optional_string(*config, "effort", "output_config")) {
      const render::ThinkingMode mode = r.thinking.mode;
      r.thinking = thinking_from_effort(*effort, "output_config.effort");
      if (mode == render::ThinkingMode::kChat) r.thinking.mode = mode;
    }
  }

  if (const Json* system = member(body, "system")) {
    const std::string text = text_of(*system, "system");
    if (!text.empty()) r.messages.push_back({{"role", "system"}, {"content", text}});
  }
  const Json* messages = member(body, "messages");
  if (messages == nullptr) invalid_field("messages", "required");
  if (!messages->is_array())
    invalid_field("messages", std::string("expected a list, got ") + type_name(*messages));
  if (messages->empty()) invalid_field("messages", "must not be empty");
  if (messages->size() > kMaxMessages)
    invalid_field("messages", "at most " + std::to_string(kMaxMessages) + " messages");
  for (size_t i = 0; i < messages->size(); ++i) {
    const Json& message = (*messages)[i];
    const std::string path = at("messages", i);
    require_object(message, path);
    const std::optional<std::string> role = optional_string(message, "role", path);
    if (!role) invalid_field(field_path(path, "role"), "required");
    const Json* content = member(message, "content");
    if (content == nullptr) invalid_field(field_path(path, "content"), "required");
    if (!content->is_string() && !content->is_array())
      invalid_field(
          field_path(path, "content"),
          std::string("expected a string or a list of content blocks, got ") + type_name(*content));
    if (*role == "user") {
      convert_user(*content, field_path(path, "content"), r.messages);
    } else if (*role == "assistant") {
      r.messages.push_back(convert_assistant(*content, field_path(path, "content")));
    } else {
      invalid_field(field_path(path, "role"),
                    "unknown role '" + *role + "' (expected user or assistant)");
    }
  }
  r.tools = tools_of(body);
  r.tool_choice = tool_choice_of(body, r.tools);

  const Json& last = r.messages.back();
  if (last.at("role") == "assistant") {
    const std::string path = at("messages", messages->size() - 1);
    if (last.contains("tool_calls"))
      invalid_field(path + ".content", "a final assistant message cannot contain tool_use");
    const bool any_user = std::any_of(r.messages.begin(), r.messages.end(), [](const Json& m) {
      return m.at("role") == "user" || m.at("role") == "tool";
    });
    if (!any_user) invalid_field("messages", "a user message must come first");
    r.continue_final = true;
  }
  return r;
}

}  // namespace dsv4::server
