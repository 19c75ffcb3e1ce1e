#include "apps/generation.h"

#include <algorithm>
#include <chrono>
#include <string_view>

#include "base/error.h"
#include "base/system.h"

namespace dsv4::apps {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool cancelled(const std::atomic<bool>* cancel) {
  return cancel != nullptr && cancel->load(std::memory_order_relaxed);
}

// Generated tokens -> text -> stream events. Text that could be the start of a stop string is
// held back until it is decided, so a stop string never reaches the stream.
class TextPipeline {
 public:
  TextPipeline(const render::Tokenizer& tokenizer, const GenerationOptions& options,
               const GenerationCallbacks& callbacks, GenerationResult& result)
      : tokenizer_(tokenizer),
        detokenizer_(tokenizer),
        parser_(options.mode),
        stop_(options.stop),
        callbacks_(callbacks),
        result_(result) {
    std::erase_if(stop_, [](const std::string& s) { return s.empty(); });
    for (const render::StreamEvent& e : parser_.feed(options.prefix))
      if (e.kind != render::StreamEvent::Kind::kReasoning &&
          e.kind != render::StreamEvent::Kind::kContent)
        deliver({e});
  }

  // Returns true when a stop string completed.
  bool push(int32_t token) {
    return stands_for_text(tokenizer_, token) && add(detokenizer_.push(token));
  }

  // Returns true when the held-back end of the text completed a stop string.
  bool finish() {
    const bool stopped = !stopped_ && add(detokenizer_.flush());
    if (!stopped_) emit(pending_);
    deliver(parser_.finish());
    return stopped;
  }

 private:
  bool add(const std::string& piece) {
    if (stop_.empty()) {
      emit(piece);
      return false;
    }
    pending_ += piece;
    size_t hit = std::string::npos;
    for (const std::string& s : stop_) hit = std::min(hit, pending_.find(s));
    if (hit != std::string::npos) {
      emit(std::string_view(pending_).substr(0, hit));
      pending_.clear();
      stopped_ = true;
      return true;
    }
    const size_t held = partial_stop_suffix();
    emit(std::string_view(pending_).substr(0, pending_.size() - held));
    pending_.erase(0, pending_.size() - held);
    return false;
  }

  // Length of the longest suffix of pending_ that is a proper prefix of a stop string.
  size_t partial_stop_suffix() const {
    size_t longest = 0;
    for (const std::string& s : stop_) {
      for (size_t len = std::min(pending_.size(), s.size() - 1); len > longest; --len) {
        if (std::string_view(pending_).substr(pending_.size() - len) ==
            std::string_view(s).substr(0, len)) {
          longest = len;
          break;
        }
      }
    }
    return longest;
  }

  void emit(std::string_view text) {
    if (text.empty()) return;
    result_.text += text;
    deliver(parser_.feed(text));
  }

  void deliver(const std::vector<render::StreamEvent>& events) {
    for (const render::StreamEvent& e : events) {
      builder_.apply(e);
      if (callbacks_.stream) callbacks_.stream(e);
    }
    result_.message = builder_.message();
  }

  const render::Tokenizer& tokenizer_;
  render::StreamingDetokenizer detokenizer_;
  render::DsmlStreamParser parser_;
  render::MessageBuilder builder_;
  std::vector<std::string> stop_;
  const GenerationCallbacks& callbacks_;
  GenerationResult& result_;
  std::string pending_;
  bool stopped_ = false;
};

void prefill(engine::Runtime& runtime, engine::Session& session, std::span<const int32_t> prompt,
             const GenerationCallbacks& callbacks, const std::atomic<bool>* cancel,
             GenerationStats& stats) {
  // Evaluating chunk by chunk gives the same state as one call (session.h) and lets the
  // progress bar move and a cancellation land between chunks.
  const size_t chunk = static_cast<size_t>(std::max<int64_t>(1, session.options().chunk));
  const auto start = Clock::now();
  const size_t checkpoint = static_cast<size_t>(std::max<int64_t>(0, callbacks.checkpoint));
  for (size_t done = 0; done < prompt.size();) {
    if (cancelled(cancel)) break;
    size_t n = std::min(chunk, prompt.size() - done);
    if (done < checkpoint) n = std::min(n, checkpoint - done);
    runtime.run([&] { session.evaluate(prompt.subspan(done, n)); });
    done += n;
    stats.prefilled_tokens = static_cast<int64_t>(done);
    if (done == checkpoint && callbacks.at_checkpoint) callbacks.at_checkpoint();
    if (callbacks.prefill_progress)
      callbacks.prefill_progress(static_cast<int64_t>(done), static_cast<int64_t>(prompt.size()));
  }
  stats.prefill_seconds = seconds_since(start);
  stats.prompt_tokens = session.position();
}

}  // namespace

bool stands_for_text(const render::Tokenizer& tokenizer, int32_t id) {
  return id >= 0 && id < tokenizer.vocab_size() &&
         tokenizer.data().token_types[static_cast<size_t>(id)] != render::TokenType::kUnused;
}

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
  }
  return "?";
}

double GenerationStats::prefill_tps() const {
  return prefill_seconds > 0 ? prefilled_tokens / prefill_seconds : 0;
}

double GenerationStats::decode_tps() const {
  return decode_seconds > 0 ? generated_tokens / decode_seconds : 0;
}

GenerationResult generate(engine::Runtime& runtime, engine::Session& session,
                          const render::Tokenizer& tokenizer, engine::Sampler& sampler,
                          std::span<const int32_t> prompt, const GenerationOptions& options,
                          const GenerationCallbacks& callbacks, const std::atomic<bool>* cancel) {
  const int64_t context = session.options().context;
  if (session.position() + static_cast<int64_t>(prompt.size()) > context)
    fail("the prompt needs ", session.position() + static_cast<int64_t>(prompt.size()),
         " tokens but the context holds ", context, " (raise --ctx)");
  if (session.position() == 0 && prompt.empty()) fail("the prompt is empty");

  GenerationResult result;
  prefill(runtime, session, prompt, callbacks, cancel, result.stats);
  TextPipeline text(tokenizer, options, callbacks, result);
  const bool logprobs = sampler.options().logprobs;
  const int32_t eos = tokenizer.eos_id();
  const auto limit_reached = [&] {
    return options.max_tokens >= 0 &&
           static_cast<int64_t>(result.tokens.size()) >= options.max_tokens;
  };
  const auto start = Clock::now();
  while (true) {
    if (cancelled(cancel)) {
      result.finish = FinishReason::kCancelled;
      break;
    }
    if (limit_reached()) {
      result.finish = FinishReason::kLength;
      break;
    }
    const engine::SampledToken sampled = sampler.sample(session.last_logits());
    if (sampled.token == eos) {
      result.finish = FinishReason::kStop;
      break;
    }
    result.tokens.push_back(sampled.token);
    if (logprobs)
      result.logprobs.push_back(
          {sampled.token, sampled.logprob, {sampled.top.begin(), sampled.top.end()}});
    if (text.push(sampled.token)) {
      result.finish = FinishReason::kStop;
      break;
    }
    // The last token is not evaluated: nothing would read its logits.
    if (limit_reached() || session.position() >= context) {
      result.finish = FinishReason::kLength;
      break;
    }
    runtime.run([&] { session.evaluate(std::span<const int32_t>(&sampled.token, 1)); });
  }
  if (text.finish() && result.finish != FinishReason::kCancelled)
    result.finish = FinishReason::kStop;
  result.stats.decode_seconds = seconds_since(start);
  result.stats.generated_tokens = static_cast<int64_t>(result.tokens.size());
  result.stats.peak_rss_bytes = peak_rss_bytes();
  return result;
}

}  // namespace dsv4::apps
