#include "apps/server/chat_request.h"

#include <algorithm>
#include <random>

#include "apps/server/api_error.h"
#include "base/error.h"
#include "render/chat.h"

namespace dsv4::server {
namespace {

// encoding_dsv4's attribute escaping for the tool name in the forced invoke tag.
std::string attribute(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string text_of(const Json* content) {
  if (content == nullptr || !content->is_string()) return "";
  return content->get<std::string>();
}

}  // namespace

engine::SamplerOptions ChatRequest::default_sampling() {
  engine::SamplerOptions o;
  o.temperature = 1.0f;
  o.top_p = 1.0f;
  o.top_k = 0;
  o.min_p = 0.05f;
  std::random_device device;
  o.seed = (static_cast<uint64_t>(device()) << 32) | device();
  return o;
}

RenderedPrompt render_prompt(const ChatRequest& request, int64_t context) {
  RenderedPrompt out;
  apps::ThinkingChoice thinking = request.thinking;
  if (thinking.effort == render::ReasoningEffort::kMax && context < apps::kMaxEffortMinContext)
    thinking.effort = render::ReasoningEffort::kHigh;
  out.mode = thinking.mode;

  if (request.raw_prompt) {
    out.text = *request.raw_prompt;
    std::string_view end = out.text;
    while (!end.empty() && (end.back() == ' ' || end.back() == '\n')) end.remove_suffix(1);
    out.mode = end.ends_with(render::kThinkStart) ? render::ThinkingMode::kThinking
                                                  : render::ThinkingMode::kChat;
    return out;
  }

  Json messages = request.messages;
  if (request.continue_final) {
    // The parsers only set continue_final after an assistant message that follows a user turn.
    const Json last = messages.back();
    messages.erase(messages.size() - 1);
    const std::string content = text_of(member(last, "content"));
    if (out.mode == render::ThinkingMode::kThinking) {
      out.answer_prefix = text_of(member(last, "reasoning_content"));
      out.answer_prefix += render::kThinkEnd;
    }
    out.answer_prefix += content;
  }
  const bool offer_tools =
      !request.tools.empty() && request.tool_choice.mode != ToolChoice::Mode::kNone;
  if (offer_tools) {
    auto system = std::find_if(messages.begin(), messages.end(),
                               [](const Json& m) { return m.at("role") == "system"; });
    if (system == messages.end())
      system = messages.insert(messages.begin(), Json{{"role", "system"}, {"content", ""}});
    (*system)["tools"] = request.tools;
    const ToolChoice::Mode mode = request.tool_choice.mode;
    if (!request.continue_final &&
        (mode == ToolChoice::Mode::kRequired || mode == ToolChoice::Mode::kNamed)) {
      out.mode = render::ThinkingMode::kChat;
      out.answer_prefix = "\n\n";
      out.answer_prefix += render::kToolCallsOpen;
      out.answer_prefix += "\n";
      if (mode == ToolChoice::Mode::kNamed) {
        out.answer_prefix += render::kInvokeOpen;
        out.answer_prefix += " name=\"" + attribute(request.tool_choice.name) + "\">\n";
      }
    }
  }
  try {
    out.text = render::render_chat(messages, {.mode = out.mode, .effort = thinking.effort});
  } catch (const Error& e) {
    throw ApiError(ErrorKind::kInvalidRequest, e.what());
  }
  out.text += out.answer_prefix;
  return out;
}

apps::ThinkingChoice thinking_from_effort(const std::string& effort, const std::string& field) {
  apps::ThinkingChoice choice;
  if (effort == "none") {
    choice.mode = render::ThinkingMode::kChat;
  } else if (effort == "max") {
    choice.effort = render::ReasoningEffort::kMax;
  } else if (effort != "minimal" && effort != "low" && effort != "medium" && effort != "high" &&
             effort != "xhigh") {
    invalid_field(field, "expected one of none, minimal, low, medium, high, xhigh, max, got '" +
                             effort + "'");
  }
  return choice;
}

bool thinking_enabled(const Json& thinking, const std::string& field) {
  if (!thinking.is_object())
    invalid_field(field, std::string("expected an object, got ") + type_name(thinking));
  const std::optional<std::string> type = optional_string(thinking, "type", field);
  if (!type) invalid_field(field_path(field, "type"), "required");
  if (*type == "enabled" || *type == "adaptive") return true;
  if (*type == "disabled") return false;
  invalid_field(field_path(field, "type"),
                "expected enabled, adaptive or disabled, got '" + *type + "'");
}

}  // namespace dsv4::server
