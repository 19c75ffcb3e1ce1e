// The generation loop shared by `dsv4 run`, `dsv4 chat` and the server: append a prompt to a
// session (prefill), then sample and evaluate one token at a time until EOS, a stop string,
// the token limit, a full context or a cancellation. Text is streamed through callbacks as
// reasoning, content and tool-call events, never splitting a UTF-8 character or a tag.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/runtime.h"
#include "engine/sampler.h"
#include "engine/session.h"
#include "render/dsml_stream.h"
#include "render/tokenizer.h"

namespace dsv4::apps {

enum class FinishReason {
  kStop,       // EOS or a stop string
  kLength,     // the token limit or the end of the context
  kCancelled,  // the cancel flag was raised
};
const char* finish_reason_name(FinishReason reason);  // "stop", "length", "cancelled"

struct GenerationOptions {
  int64_t max_tokens = -1;        // < 0: no limit but EOS, a stop string or the context
  std::vector<std::string> stop;  // matched in the generated text, which ends before the match
  // Thinking: the text starts inside <think> (the prompt ended with it) and is reasoning up to
  // </think>. Chat: the text is the answer.
  render::ThinkingMode mode = render::ThinkingMode::kThinking;
  // Text the answer already starts with, at the end of the prompt (a prefilled assistant
  // turn, the opening of a forced tool call): the generated text is parsed as its
  // continuation. Tool calls the prefix opens are reported like generated ones; its reasoning
  // and content are the caller's own and are not.
  std::string prefix;
};

struct GenerationStats {
  int64_t prompt_tokens = 0;     // tokens in the session when generation started
  int64_t prefilled_tokens = 0;  // of those, the ones this call evaluated
  double prefill_seconds = 0;
  int64_t generated_tokens = 0;
  double decode_seconds = 0;
  uint64_t peak_rss_bytes = 0;
  double prefill_tps() const;
  double decode_tps() const;
};

struct GeneratedLogprobs {
  int32_t token;
  float logprob;
  std::vector<engine::TokenLogprob> top;
};

struct GenerationResult {
  std::vector<int32_t> tokens;    // sampled ids, without the EOS that ended them
  std::string text;               // their text, cut before a stop string
  render::ParsedMessage message;  // the text as reasoning, content and tool calls
  FinishReason finish = FinishReason::kLength;
  std::vector<GeneratedLogprobs> logprobs;  // per token, when the sampler computes them
  GenerationStats stats;
};

// All optional. They run on the calling thread, between engine steps.
struct GenerationCallbacks {
  std::function<void(int64_t done, int64_t total)> prefill_progress;
  std::function<void(const render::StreamEvent& event)> stream;
  // Called once the session holds the prompt's first `checkpoint` tokens (0 < checkpoint <=
  // prompt size): a prefill chunk ends there, so the caller sees that state (the server
  // stores it in its disk cache). Not called when prefill is cancelled before.
  int64_t checkpoint = 0;
  std::function<void()> at_checkpoint;
};

// False for ids the vocabulary only names to cover the embedding's extra rows
// (TokenType::kUnused, "[PAD123]") and for ids past it: sampled, they add no text, as in the
// reference tokenizer's decoding.
bool stands_for_text(const render::Tokenizer& tokenizer, int32_t id);

// Evaluates `prompt` after the session's tokens, then generates. The session keeps every
// token it evaluated: the prompt (up to a cancellation) and the generated tokens except the
// last one when generation stopped right after sampling it (EOS, stop string, limit, full
// context). Throws dsv4::Error when the prompt does not fit the context or nothing precedes
// the first token to generate.
GenerationResult generate(engine::Runtime& runtime, engine::Session& session,
                          const render::Tokenizer& tokenizer, engine::Sampler& sampler,
                          std::span<const int32_t> prompt, const GenerationOptions& options,
                          const GenerationCallbacks& callbacks = {},
                          const std::atomic<bool>* cancel = nullptr);

}  // namespace dsv4::apps
