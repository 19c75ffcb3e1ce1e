#include "render/dsml.h"

#include "base/json_limits.h"
#include "render/dsml_grammar.h"
#include "render/python_json.h"

namespace dsv4::render {
namespace {

using nlohmann::ordered_json;

void render_parameter(std::string& out, std::string_view key, const ordered_json& value) {
  const bool is_string = value.is_string();
  out += kParameterOpen;
  out += " name=\"";
  out += key;
  out += is_string ? "\" string=\"true\">" : "\" string=\"false\">";
  out += is_string ? value.get_ref<const std::string&>() : python_json_dumps(value);
  out += kParameterClose;
}

bool starts_with_at(std::string_view text, size_t pos, std::string_view prefix) {
  return pos <= text.size() && text.substr(pos).starts_with(prefix);
}

size_t skip_space(std::string_view text, size_t pos) {
  while (pos < text.size() && dsml::is_space(text[pos])) ++pos;
  return pos;
}

// Parses one tool-call block starting after its opening tag. Returns where content resumes
// (after the closing tag, or at the end of the last complete tag when the grammar breaks),
// or npos when the text ends inside a parameter value.
size_t parse_block(std::string_view text, size_t pos, ParsedMessage& message) {
  size_t resume = pos;
  while (true) {
    size_t i = skip_space(text, resume);
    if (starts_with_at(text, i, kToolCallsClose)) return i + kToolCallsClose.size();
    if (!starts_with_at(text, i, kInvokeOpen)) return resume;
    i += kInvokeOpen.size();
    const dsml::TagHeader invoke = dsml::parse_invoke_header(text.substr(i));
    if (invoke.status != dsml::HeaderStatus::kComplete) return resume;
    message.tool_calls.push_back({invoke.name, "{"});
    std::string& arguments = message.tool_calls.back().arguments;
    resume = i + invoke.length;
    bool first = true;
    while (true) {
      i = skip_space(text, resume);
      if (starts_with_at(text, i, kInvokeClose)) {
        resume = i + kInvokeClose.size();
        break;
      }
      const bool parameter = starts_with_at(text, i, kParameterOpen);
      const dsml::TagHeader header =
          parameter ? dsml::parse_parameter_header(text.substr(i + kParameterOpen.size()))
                    : dsml::TagHeader{};
      if (header.status != dsml::HeaderStatus::kComplete) {
        arguments += '}';
        return resume;
      }
      const size_t value_start = i + kParameterOpen.size() + header.length;
      const size_t close = text.find(kParameterClose, value_start);
      const std::string_view value =
          text.substr(value_start, close == std::string_view::npos ? std::string_view::npos
                                                                   : close - value_start);
      if (!first) arguments += ", ";
      first = false;
      arguments += python_json_string(header.name);
      arguments += ": ";
      arguments +=
          header.is_string ? python_json_string(value) : dsml::non_string_value_json(value);
      if (close == std::string_view::npos) {
        arguments += '}';
        return std::string_view::npos;
      }
      resume = close + kParameterClose.size();
    }
    arguments += '}';
  }
}

}  // namespace

std::string render_tool_calls(std::span<const ToolCall> calls) {
  if (calls.empty()) return "";
  std::string out = "\n\n";
  out += kToolCallsOpen;
  out += '\n';
  for (size_t k = 0; k < calls.size(); ++k) {
    if (k > 0) out += '\n';
    out += kInvokeOpen;
    out += " name=\"" + calls[k].name + "\">\n";
    // Deeply nested arguments would make the JSON tree recurse deeply; they go in raw instead.
    constexpr size_t kMaxArgumentDepth = 128;
    const ordered_json args = json_nesting_depth(calls[k].arguments) <= kMaxArgumentDepth
                                  ? ordered_json::parse(calls[k].arguments, nullptr, false)
                                  : ordered_json();
    if (args.is_object()) {
      bool first = true;
      for (const auto& [key, value] : args.items()) {
        if (!first) out += '\n';
        first = false;
        render_parameter(out, key, value);
      }
    } else {
      render_parameter(out, "arguments", calls[k].arguments);
    }
    out += '\n';
    out += kInvokeClose;
  }
  out += '\n';
  out += kToolCallsClose;
  return out;
}

ParsedMessage parse_completion(std::string_view text, ThinkingMode mode) {
  ParsedMessage message;
  size_t pos = 0;
  if (mode == ThinkingMode::kThinking) {
    if (text.starts_with(kThinkStart)) pos = kThinkStart.size();
    const size_t end = text.find(kThinkEnd, pos);
    const size_t eos = text.find(kEosText, pos);
    if (eos < end) {
      message.reasoning_content = text.substr(pos, eos - pos);
      return message;
    }
    if (end == std::string_view::npos) {
      message.reasoning_content = text.substr(pos);
      return message;
    }
    message.reasoning_content = text.substr(pos, end - pos);
    pos = end + kThinkEnd.size();
  }
  while (pos != std::string_view::npos) {
    const size_t eos = text.find(kEosText, pos);
    const size_t block = text.find(kToolCallsOpen, pos);
    if (eos < block) {
      message.content += text.substr(pos, eos - pos);
      break;
    }
    if (block == std::string_view::npos) {
      message.content += text.substr(pos);
      break;
    }
    std::string_view before = text.substr(pos, block - pos);
    if (before.ends_with("\n\n")) before.remove_suffix(2);
    message.content += before;
    pos = parse_block(text, block + kToolCallsOpen.size(), message);
  }
  return message;
}

nlohmann::ordered_json message_to_json(const ParsedMessage& message) {
  ordered_json calls = ordered_json::array();
  for (const ToolCall& call : message.tool_calls)
    calls.push_back(
        {{"type", "function"}, {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
  return {{"role", "assistant"},
          {"content", message.content},
          {"reasoning_content", message.reasoning_content},
          {"tool_calls", std::move(calls)}};
}

}  // namespace dsv4::render
