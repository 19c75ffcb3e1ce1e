// DSML, DeepSeek V4's tool-call markup: rendering assistant tool calls the way encoding_dsv4
// writes them, and parsing a whole completion back into reasoning, content and tool calls.
// The incremental parser (dsml_stream.h) follows the same rules and reaches the same result.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "render/prompt_format.h"

namespace dsv4::render {

struct ToolCall {
  std::string name;
  std::string arguments;  // JSON text, an object for parsed calls
  bool operator==(const ToolCall&) const = default;
};

struct ParsedMessage {
  std::string content;
  std::string reasoning_content;
  std::vector<ToolCall> tool_calls;
  bool operator==(const ParsedMessage&) const = default;
};

// "\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name=...>...</｜DSML｜tool_calls>", or "" without
// calls. Arguments that parse to a JSON object become one parameter per member (strings raw
// with string="true", anything else as Python-style JSON with string="false"); other
// arguments become a single string parameter "arguments" holding the raw text.
std::string render_tool_calls(std::span<const ToolCall> calls);

// Parses generated text (the tokens after the rendered prompt). Thinking mode: an optional
// leading "<think>", reasoning up to "</think>", then the answer. The answer is content up to
// "<｜end▁of▁sentence｜>" (after which nothing counts), with tool-call blocks taken out (the
// "\n\n" before a block belongs to the markup); each call's arguments are the JSON object
// {"name": value, ...} as encoding_dsv4 builds it. Text that breaks the DSML grammar
// (dsml_grammar.h) is kept as content from the end of the last complete tag on; a call cut
// off by the end of the text keeps what it has. Never throws on any input.
ParsedMessage parse_completion(std::string_view text, ThinkingMode mode);

// {"role": "assistant", "content", "reasoning_content", "tool_calls": [{"type": "function",
// "function": {"name", "arguments"}}]}, the shape encoding_dsv4's parser returns.
nlohmann::ordered_json message_to_json(const ParsedMessage& message);

}  // namespace dsv4::render
