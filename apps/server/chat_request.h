// A generation request as the worker needs it, whichever API it came through: the
// conversation in encoding_dsv4's message format (render/chat.h), the tools, the thinking
// mode, sampling and limits. render_prompt() turns it into the prompt text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/generation_flags.h"
#include "apps/server/json_fields.h"
#include "engine/sampler.h"
#include "render/prompt_format.h"

namespace dsv4::server {

struct ToolChoice {
  enum class Mode {
    kAuto,      // the model decides
    kNone,      // no tools offered
    kRequired,  // some tool must be called
    kNamed,     // this tool must be called
  };
  Mode mode = Mode::kAuto;
  std::string name;
};

// Messages a conversation may have: far more than any context holds, few enough that a
// request's parsed form stays small.
inline constexpr size_t kMaxMessages = 1 << 16;

struct ChatRequest {
  std::string model;              // echoed back; any value is accepted
  Json messages = Json::array();  // encoding_dsv4 messages (roles system, developer, user,
                                  // assistant, tool), without tools
  Json tools = Json::array();     // OpenAI-style: {"type": "function", "function": {...}}
  ToolChoice tool_choice;
  // The last message is an assistant turn the model continues (Anthropic's prefill, or
  // OpenAI's continue_final_message): its text is not repeated in the answer.
  bool continue_final = false;
  // /v1/completions with a prompt that already starts with the BOS text: used as is.
  std::optional<std::string> raw_prompt;
  apps::ThinkingChoice thinking;
  engine::SamplerOptions sampling = default_sampling();
  int64_t max_tokens = -1;  // < 0: until EOS, a stop string or the end of the context
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage

  // MODEL.md §8: T = 1, top-p = 1, top-k off, min-p = 0.05, and a fresh seed.
  static engine::SamplerOptions default_sampling();
};

struct RenderedPrompt {
  std::string text;
  render::ThinkingMode mode = render::ThinkingMode::kThinking;
  // What the answer already starts with (the end of `text`): the generated text continues it.
  std::string answer_prefix;
};

// Renders the conversation for a session of `context` tokens (maximal effort needs a large
// one, MODEL.md §7.6). Tools go on the first system message. A forced tool choice ends the
// prompt with the opening of a tool-call block, so the model's next words are the call, and
// turns thinking off for the answer (reasoning would come before the call). Throws ApiError
// for a conversation that cannot be rendered.
RenderedPrompt render_prompt(const ChatRequest& request, int64_t context);

// Thinking from a reasoning-effort word (OpenAI's reasoning_effort, Anthropic's
// output_config.effort): "none" turns it off, "max" asks for maximal effort, and "minimal",
// "low", "medium", "high", "xhigh" think at high effort. Anything else is refused.
apps::ThinkingChoice thinking_from_effort(const std::string& effort, const std::string& field);

// A thinking object {"type": "enabled" | "disabled" | "adaptive", ...} (DeepSeek's and
// Anthropic's APIs): whether to think.
bool thinking_enabled(const Json& thinking, const std::string& field);

}  // namespace dsv4::server
