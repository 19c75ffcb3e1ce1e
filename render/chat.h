// Chat rendering with the semantics of DeepSeek's encoding_dsv4 (`encode_messages`): the
// prompt text a DeepSeek V4 model was trained on, special tokens spelled out (tokenize the
// result with Tokenizer::encode(text, special=true)).
//
// Messages are OpenAI-style JSON objects with "role" one of system, user, assistant, tool,
// developer, latest_reminder, and per role: "content" (string, null, or a list of text
// parts), "tools" and "response_format" (system, developer), "reasoning_content" and
// "tool_calls" (assistant; arguments a JSON string or object), "tool_call_id" (tool),
// "task" (action, query, authority, domain, title, read_url) and "wo_eos" (assistant:
// leave the turn open).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "render/prompt_format.h"

namespace dsv4::render {

enum class ReasoningEffort {
  kHigh,  // the default: no extra text
  kMax,   // thinking mode only: a fixed paragraph demanding maximal effort opens the prompt
};

struct ChatOptions {
  ThinkingMode mode = ThinkingMode::kThinking;
  ReasoningEffort effort = ReasoningEffort::kHigh;
  // Drop the reasoning of assistant turns before the last user turn (and developer turns
  // before it). Ignored, i.e. everything kept, when any message defines tools.
  bool drop_thinking = true;
  bool add_bos = true;
};

// The prompt for `messages` (a JSON array). Tool messages are merged into user turns as
// <tool_result> blocks, ordered by the calls of the preceding assistant turn, with a literal
// "</tool_result>" in a result written as "&lt;/tool_result>". A prompt that ends with a
// user or developer turn ends with "<｜Assistant｜>" and "<think>" or "</think>".
// Throws dsv4::Error naming the message and field at fault.
std::string render_chat(const nlohmann::ordered_json& messages, const ChatOptions& options = {});

// The "## Tools" section for OpenAI-style tool definitions ({"type": "function",
// "function": {...}}; a bare function object is accepted too), one JSON schema per line.
std::string render_tools(const nlohmann::ordered_json& tools);

// The paragraph ReasoningEffort::kMax puts right after BOS.
extern const std::string_view kMaxEffortPrefix;

}  // namespace dsv4::render
