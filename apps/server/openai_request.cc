#include "apps/server/openai_request.h"

#include <limits>

#include "apps/server/api_error.h"
#include "render/prompt_format.h"

namespace dsv4::server {
namespace {

constexpr int64_t kMaxTokensLimit = int64_t{1} << 31;

std::string at(const std::string& where, size_t i) {
  return where + "[" + std::to_string(i) + "]";
}

// Content as text: a string, or a list of text parts ({"type": "text", "text": ...}).
std::string content_text(const Json& message, const std::string& where, bool required) {
  const std::string path = field_path(where, "content");
  const Json* content = member(message, "content");
  if (content == nullptr) {
    if (required) invalid_field(path, "required");
    return "";
  }
  if (content->is_string()) return content->get<std::string>();
  if (!content->is_array())
    invalid_field(path, std::string("expected a string or a list of content parts, got ") +
                            type_name(*content));
  std::string text;
  for (size_t i = 0; i < content->size(); ++i) {
    const Json& part = (*content)[i];
    const std::string part_path = at(path, i);
    require_object(part, part_path);
    const std::optional<std::string> type = optional_string(part, "type", part_path);
    if (!type) invalid_field(field_path(part_path, "type"), "required");
    if (*type != "text")
      invalid_field(field_path(part_path, "type"),
                    "only text content is supported, got '" + *type + "'");
    const std::optional<std::string> part_text = optional_string(part, "text", part_path);
    if (!part_text) invalid_field(field_path(part_path, "text"), "required");
    text += *part_text;
  }
  return text;
}

Json tool_calls_of(const Json& list, const std::string& where) {
  if (!list.is_array())
    invalid_field(where, std::string("expected a list, got ") + type_name(list));
  Json calls = Json::array();
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& call = list[i];
    const std::string path = at(where, i);
    require_object(call, path);
    const std::optional<std::string> type = optional_string(call, "type", path);
    if (type && *type != "function")
      invalid_field(field_path(path, "type"), "only function calls are supported");
    const Json* fn = member(call, "function");
    if (fn == nullptr) invalid_field(field_path(path, "function"), "required");
    require_object(*fn, field_path(path, "function"));
    const std::optional<std::string> name =
        optional_string(*fn, "name", field_path(path, "function"));
    if (!name) invalid_field(field_path(path, "function.name"), "required");
    const Json* args = member(*fn, "arguments");
    if (args != nullptr && !args->is_string() && !args->is_object())
      invalid_field(field_path(path, "function.arguments"),
                    std::string("expected a string, got ") + type_name(*args));
    Json out = {{"id", optional_string(call, "id", path).value_or("")},
                {"type", "function"},
                {"function", {{"name", *name}, {"arguments", args ? *args : Json("{}")}}}};
    calls.push_back(std::move(out));
  }
  return calls;
}

Json convert_message(const Json& message, const std::string& where) {
  require_object(message, where);
  const std::optional<std::string> role = optional_string(message, "role", where);
  if (!role) invalid_field(field_path(where, "role"), "required");
  if (*role == "system" || *role == "developer" || *role == "user")
    return {{"role", *role}, {"content", content_text(message, where, true)}};
  if (*role == "assistant") {
    Json out = {{"role", "assistant"}, {"content", content_text(message, where, false)}};
    if (const std::optional<std::string> reasoning =
            optional_string(message, "reasoning_content", where))
      out["reasoning_content"] = *reasoning;
    if (const Json* calls = member(message, "tool_calls"))
      out["tool_calls"] = tool_calls_of(*calls, field_path(where, "tool_calls"));
    return out;
  }
  if (*role == "tool" || *role == "function") {
    Json out = {{"role", "tool"}, {"content", content_text(message, where, false)}};
    if (const std::optional<std::string> id = optional_string(message, "tool_call_id", where))
      out["tool_call_id"] = *id;
    return out;
  }
  invalid_field(
      field_path(where, "role"),
      "unknown role '" + *role + "' (expected system, developer, user, assistant or tool)");
}

Json tools_of(const Json& body) {
  const Json* tools = member(body, "tools");
  if (tools == nullptr) return Json::array();
  if (!tools->is_array())
    invalid_field("tools", std::string("expected a list, got ") + type_name(*tools));
  for (size_t i = 0; i < tools->size(); ++i) {
    const Json& tool = (*tools)[i];
    const std::string path = at("tools", i);
    require_object(tool, path);
    const std::optional<std::string> type = optional_string(tool, "type", path);
    if (type.value_or("function") != "function")
      invalid_field(field_path(path, "type"), "only function tools are supported");
    const Json* fn = member(tool, "function");
    if (fn == nullptr) invalid_field(field_path(path, "function"), "required");
    require_object(*fn, field_path(path, "function"));
    if (!optional_string(*fn, "name", field_path(path, "function")))
      invalid_field(field_path(path, "function.name"), "required");
  }
  return *tools;
}

bool has_tool(const Json& tools, const std::string& name) {
  for (const Json& tool : tools)
    if (tool.at("function").at("name") == name) return true;
  return false;
}

ToolChoice tool_choice_of(const Json& body, const Json& tools) {
  ToolChoice choice;
  const Json* value = member(body, "tool_choice");
  if (value == nullptr) return choice;
  if (value->is_string()) {
    const std::string mode = value->get<std::string>();
    if (mode == "none") {
      choice.mode = ToolChoice::Mode::kNone;
    } else if (mode == "required") {
      choice.mode = ToolChoice::Mode::kRequired;
    } else if (mode != "auto") {
      invalid_field("tool_choice",
                    "expected none, auto, required or an object, got '" + mode + "'");
    }
  } else if (value->is_object()) {
    const Json* fn = member(*value, "function");
    if (fn == nullptr || !fn->is_object() || !optional_string(*fn, "name", "tool_choice.function"))
      invalid_field("tool_choice.function.name", "required");
    choice.mode = ToolChoice::Mode::kNamed;
    choice.name = fn->at("name").get<std::string>();
    if (!has_tool(tools, choice.name))
      invalid_field("tool_choice.function.name", "no tool named '" + choice.name + "'");
  } else {
    invalid_field("tool_choice",
                  std::string("expected a string or an object, got ") + type_name(*value));
  }
  if (choice.mode != ToolChoice::Mode::kAuto && choice.mode != ToolChoice::Mode::kNone &&
      tools.empty())
    invalid_field("tool_choice", "a tool call is required but no tools are given");
  return choice;
}

// The fields both endpoints share: sampling, limits, stop, streaming, thinking.
void parse_common(const Json& body, ChatRequest& r) {
  r.model = optional_string(body, "model").value_or("");
  if (const auto n = optional_integer(body, "n", 1, 128); n && *n != 1)
    invalid_field("n", "only 1 is supported");
  if (optional_bool(body, "logprobs").value_or(false)) invalid_field("logprobs", "not supported");
  std::optional<int64_t> max_tokens = optional_integer(body, "max_tokens", 1, kMaxTokensLimit);
  if (auto m = optional_integer(body, "max_completion_tokens", 1, kMaxTokensLimit)) max_tokens = m;
  r.max_tokens = max_tokens.value_or(-1);
  if (auto t = optional_number(body, "temperature", 0, 2)) r.sampling.temperature = float(*t);
  if (auto p = optional_number(body, "top_p", 0, 1)) r.sampling.top_p = float(*p);
  if (auto k = optional_integer(body, "top_k", -1, 1 << 24)) r.sampling.top_k = int32_t(*k);
  if (auto p = optional_number(body, "min_p", 0, 1)) r.sampling.min_p = float(*p);
  if (auto s = optional_integer(body, "seed", std::numeric_limits<int64_t>::min(),
                                std::numeric_limits<int64_t>::max()))
    r.sampling.seed = static_cast<uint64_t>(*s);
  r.stop = stop_strings(body, "stop");
  r.stream = optional_bool(body, "stream").value_or(false);
  if (const Json* options = member(body, "stream_options")) {
    require_object(*options, "stream_options");
    r.include_usage = optional_bool(*options, "include_usage", "stream_options").value_or(false);
  }

  // Thinking (MODEL.md §7.6), later rules overriding earlier ones: the model name, think,
  // thinking, reasoning_effort.
  if (r.model == "deepseek-chat") r.thinking.mode = render::ThinkingMode::kChat;
  if (auto think = optional_bool(body, "think"))
    r.thinking.mode = *think ? render::ThinkingMode::kThinking : render::ThinkingMode::kChat;
  if (const Json* thinking = member(body, "thinking"))
    r.thinking.mode = thinking_enabled(*thinking, "thinking") ? render::ThinkingMode::kThinking
                                                              : render::ThinkingMode::kChat;
  if (auto effort = optional_string(body, "reasoning_effort"))
    r.thinking = thinking_from_effort(*effort, "reasoning_effort");
}

}  // namespace

ChatRequest parse_openai_chat(const Json& body) {
  require_object(body, "");
  ChatRequest r;
  parse_common(body, r);
  const Json* messages = member(body, "messages");
  if (messages == nullptr) invalid_field("messages", "required");
  if (!messages->is_array())
    invalid_field("messages", std::string("expected a list, got ") + type_name(*messages));
  if (messages->empty()) invalid_field("messages", "must not be empty");
  if (messages->size() > kMaxMessages)
    invalid_field("messages", "at most " + std::to_string(kMaxMessages) + " messages");
  for (size_t i = 0; i < messages->size(); ++i)
    r.messages.push_back(convert_message((*messages)[i], at("messages", i)));
  r.tools = tools_of(body);
  r.tool_choice = tool_choice_of(body, r.tools);

  r.continue_final = optional_bool(body, "continue_final_message").value_or(false);
  const std::string last_role = r.messages.back().at("role").get<std::string>();
  const std::string last = at("messages", messages->size() - 1) + ".role";
  if (r.continue_final) {
    if (last_role != "assistant")
      invalid_field(last, "continue_final_message needs a final assistant message");
    if (r.messages.back().contains("tool_calls"))
      invalid_field(last, "a continued assistant message cannot have tool calls");
  } else if (last_role == "assistant" || last_role == "system") {
    invalid_field(last,
                  "the conversation must end with a user or tool message (or set "
                  "continue_final_message to continue an assistant message)");
  }
  return r;
}

ChatRequest parse_openai_completion(const Json& body) {
  require_object(body, "");
  ChatRequest r;
  parse_common(body, r);
  const Json* prompt = member(body, "prompt");
  if (prompt == nullptr) invalid_field("prompt", "required");
  std::string text;
  if (prompt->is_string()) {
    text = prompt->get<std::string>();
  } else if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    text = (*prompt)[0].get<std::string>();
  } else {
    invalid_field("prompt", "expected a string (one prompt per request)");
  }
  if (text.starts_with(render::kBosText)) {
    r.raw_prompt = std::move(text);
  } else {
    r.messages = Json::array({Json{{"role", "system"}, {"content", "You are a helpful assistant"}},
                              Json{{"role", "user"}, {"content", std::move(text)}}});
  }
  return r;
}

}  // namespace dsv4::server
