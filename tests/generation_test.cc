// The generation loop and the live session on a tiny random model: the loop against a plain
// greedy loop written here, the stream against the whole-text parser, stop strings, limits,
// cancellation, and prefix reuse.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "apps/generation.h"
#include "apps/live_session.h"
#include "apps/tokenizer_gguf.h"
#include "base/error.h"
#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/sampler.h"
#include "engine/session.h"
#include "render/chat.h"
#include "render/dsml.h"
#include "simd/ops.h"
#include "tests/support/synth_model.h"

using namespace dsv4;
using apps::FinishReason;
using apps::GenerationOptions;
using apps::GenerationResult;

namespace {

struct Fixture {
  std::unique_ptr<engine::Model> model = engine::Model::load(testing::synthetic_model());
  render::Tokenizer tokenizer{apps::read_tokenizer_metadata(model->file())};
  engine::Runtime runtime{2};
  engine::SessionOptions options{.context = 512, .chunk = 16};

  std::vector<int32_t> prompt(const std::string& text, render::ThinkingMode mode) const {
    nlohmann::ordered_json messages = {{{"role", "user"}, {"content", text}}};
    return tokenizer.encode(render::render_chat(messages, {.mode = mode}), true);
  }

  GenerationResult generate(engine::Session& session, const std::vector<int32_t>& prompt,
                            const GenerationOptions& generation,
                            const engine::SamplerOptions& sampling,
                            apps::GenerationCallbacks callbacks = {},
                            const std::atomic<bool>* cancel = nullptr) {
    engine::Sampler sampler(model->config().vocab, sampling);
    return apps::generate(runtime, session, tokenizer, sampler, prompt, generation, callbacks,
                          cancel);
  }

  std::unique_ptr<engine::Session> session() {
    return runtime.run([&] { return std::make_unique<engine::Session>(*model, options); });
  }
};

}  // namespace

TEST_CASE("greedy generation equals a plain argmax loop") {
  Fixture f;
  const auto prompt = f.prompt("Write a haiku", render::ThinkingMode::kChat);
  auto session = f.session();
  const GenerationResult result =
      f.generate(*session, prompt, {.max_tokens = 20, .mode = render::ThinkingMode::kChat},
                 {.temperature = 0});

  auto reference = f.session();
  std::vector<int32_t> expected;
  f.runtime.run([&] {
    reference->evaluate(prompt);  // one call: prefill in the session's own chunks
    while (expected.size() < 20) {
      const auto logits = reference->last_logits();
      const auto next = static_cast<int32_t>(simd::argmax(logits.data(), logits.size()));
      if (next == f.tokenizer.eos_id()) break;
      expected.push_back(next);
      reference->evaluate(std::span(&expected.back(), 1));
    }
  });
  CHECK(result.tokens == expected);
  CHECK(result.stats.prompt_tokens == static_cast<int64_t>(prompt.size()));
  CHECK(result.stats.prefilled_tokens == static_cast<int64_t>(prompt.size()));
  CHECK(result.stats.generated_tokens == static_cast<int64_t>(result.tokens.size()));
  if (result.finish == FinishReason::kLength) {
    // Every generated token but the last was evaluated; nothing reads the last one's logits.
    CHECK(session->position() == static_cast<int64_t>(prompt.size() + expected.size() - 1));
  }
}

TEST_CASE("the stream adds up to the parsed text") {
  Fixture f;
  for (auto mode : {render::ThinkingMode::kThinking, render::ThinkingMode::kChat}) {
    auto session = f.session();
    render::MessageBuilder streamed;
    std::string content;
    apps::GenerationCallbacks callbacks;
    callbacks.stream = [&](const render::StreamEvent& e) { streamed.apply(e); };
    const GenerationResult r =
        f.generate(*session, f.prompt("Hello", mode), {.max_tokens = 80, .mode = mode},
                   {.temperature = 1, .seed = 9}, callbacks);
    CHECK(r.tokens.size() > 0);
    CHECK(r.text == f.tokenizer.decode(r.tokens));
    CHECK(streamed.message() == render::parse_completion(r.text, mode));
    CHECK(r.message == streamed.message());
  }
}

TEST_CASE("a stop string ends the text before it and never reaches the stream") {
  Fixture f;
  const auto prompt = f.prompt("Write", render::ThinkingMode::kChat);
  const GenerationOptions plain{.max_tokens = 60, .mode = render::ThinkingMode::kChat};
  const engine::SamplerOptions sampling{.temperature = 1, .min_p = 0, .seed = 4};
  auto session = f.session();
  const std::string text = f.generate(*session, prompt, plain, sampling).text;
  REQUIRE(text.size() > 30);
  // Stop strings taken from the text itself, so the cut point is known in advance; the
  // longest is long enough to span several tokens.
  for (size_t length : {1, 4, 12}) {
    const std::string stop = text.substr(text.size() / 2, length);
    CAPTURE(stop);
    GenerationOptions with_stop = plain;
    with_stop.stop = {"never in the text at all", stop};
    std::string streamed;
    apps::GenerationCallbacks callbacks;
    callbacks.stream = [&](const render::StreamEvent& e) { streamed += e.text; };
    auto again = f.session();
    const GenerationResult r = f.generate(*again, prompt, with_stop, sampling, callbacks);
    CHECK(r.finish == FinishReason::kStop);
    CHECK(r.text == text.substr(0, text.find(stop)));
    CHECK(streamed.find(stop) == std::string::npos);
  }
}

TEST_CASE("limits: -n 0 and a full context") {
  Fixture f;
  const auto prompt = f.prompt("Hi", render::ThinkingMode::kChat);
  {
    auto session = f.session();
    const GenerationResult r = f.generate(*session, prompt, {.max_tokens = 0}, {.temperature = 0});
    CHECK(r.tokens.empty());
    CHECK(r.finish == FinishReason::kLength);
  }
  f.options.context = static_cast<int64_t>(prompt.size()) + 5;
  auto session = f.session();
  const GenerationResult r = f.generate(*session, prompt, {}, {.temperature = 1, .min_p = 0});
  if (r.finish == FinishReason::kLength) {
    CHECK(session->position() == f.options.context);
    CHECK(r.tokens.size() == 6);  // the last token fills no slot: it is sampled, not evaluated
  } else {
    CHECK(r.tokens.size() < 6);  // an early EOS
  }
  CHECK_THROWS_AS(f.generate(*session, prompt, {}, {}), dsv4::Error);  // no room for another prompt
}

TEST_CASE("a raised cancel flag stops before any work") {
  Fixture f;
  std::atomic<bool> cancel{true};
  auto session = f.session();
  const GenerationResult r =
      f.generate(*session, f.prompt("Hi", render::ThinkingMode::kChat), {}, {}, {}, &cancel);
  CHECK(r.finish == FinishReason::kCancelled);
  CHECK(r.tokens.empty());
  CHECK(session->position() == 0);
}

TEST_CASE("cancelling from a callback stops between tokens") {
  Fixture f;
  std::atomic<bool> cancel{false};
  int events = 0;
  apps::GenerationCallbacks callbacks;
  callbacks.stream = [&](const render::StreamEvent&) {
    if (++events == 3) cancel = true;
  };
  auto session = f.session();
  const GenerationResult r = f.generate(
      *session, f.prompt("Hi", render::ThinkingMode::kChat), {.mode = render::ThinkingMode::kChat},
      {.temperature = 1, .min_p = 0, .seed = 2}, callbacks, &cancel);
  CHECK(r.finish == FinishReason::kCancelled);
  CHECK(r.tokens.size() > 0);
  CHECK(r.tokens.size() < 100);
  // The token whose text raised the flag was evaluated before the loop looked at the flag.
  CHECK(session->position() == r.stats.prompt_tokens + static_cast<int64_t>(r.tokens.size()));
}

TEST_CASE("prefill calls back at its checkpoint and generates what it would without one") {
  Fixture f;
  f.options.precision = engine::Precision::kRef;  // then chunk boundaries change no bit
  const auto prompt =
      f.prompt("Tell me about caches and the prefixes they keep", render::ThinkingMode::kChat);
  REQUIRE(prompt.size() > 24);
  const GenerationOptions generation{.max_tokens = 8, .mode = render::ThinkingMode::kChat};
  auto plain = f.session();
  const GenerationResult expected = f.generate(*plain, prompt, generation, {.temperature = 0});

  auto session = f.session();
  constexpr int64_t kCheckpoint = 21;  // inside the second 16-token chunk
  std::vector<int32_t> seen;
  apps::GenerationCallbacks callbacks;
  callbacks.checkpoint = kCheckpoint;
  callbacks.at_checkpoint = [&] { seen = session->tokens(); };
  const GenerationResult r =
      f.generate(*session, prompt, generation, {.temperature = 0}, callbacks);
  CHECK(seen == std::vector<int32_t>(prompt.begin(), prompt.begin() + kCheckpoint));
  CHECK(r.tokens == expected.tokens);
  CHECK(r.stats.prefilled_tokens == static_cast<int64_t>(prompt.size()));
}

TEST_CASE("logprobs come with each token when the sampler computes them") {
  Fixture f;
  auto session = f.session();
  const GenerationResult r =
      f.generate(*session, f.prompt("Hi", render::ThinkingMode::kChat), {.max_tokens = 5},
                 {.temperature = 0, .logprobs = true, .top_logprobs = 3});
  REQUIRE(r.logprobs.size() == r.tokens.size());
  for (size_t k = 0; k < r.tokens.size(); ++k) {
    CHECK(r.logprobs[k].token == r.tokens[k]);
    REQUIRE(r.logprobs[k].top.size() == 3);
    CHECK(r.logprobs[k].top[0].token == r.tokens[k]);  // greedy: the chosen token is the top one
    CHECK(r.logprobs[k].logprob == r.logprobs[k].top[0].logprob);
    CHECK(r.logprobs[k].logprob <= 0);
  }
}

TEST_CASE("the live session evaluates only what extends its text") {
  Fixture f;
  apps::LiveSession live(f.runtime, *f.model, f.tokenizer, f.options);
  nlohmann::ordered_json messages = {{{"role", "user"}, {"content", "Hello"}}};
  const render::ChatOptions chat{.drop_thinking = false};
  const std::string first = render::render_chat(messages, chat);
  auto sync = live.sync(first);
  CHECK_FALSE(sync.restarted);
  CHECK(sync.tokens == f.tokenizer.encode(first, true));
  engine::Sampler sampler(f.model->config().vocab, {.temperature = 1, .seed = 8});
  const GenerationResult reply = apps::generate(f.runtime, live.session(), f.tokenizer, sampler,
                                                sync.tokens, {.max_tokens = 10}, {});
  const int64_t held = live.session().position();

  // The next turn as chat renders it: the reply's reasoning, </think>, EOS, a new user turn.
  const size_t end = reply.text.find(render::kThinkEnd);
  messages.push_back(
      {{"role", "assistant"},
       {"reasoning_content", reply.text.substr(0, end)},
       {"content",
        end == std::string::npos ? "" : reply.text.substr(end + render::kThinkEnd.size())}});
  messages.push_back({{"role", "user"}, {"content", "And then?"}});
  const std::string second = render::render_chat(messages, chat);
  sync = live.sync(second);
  CHECK_FALSE(sync.restarted);
  CHECK(live.session().position() == held);
  const std::string suffix = f.tokenizer.decode(sync.tokens);
  CHECK(suffix.ends_with("<｜User｜>And then?<｜Assistant｜><think>"));
  CHECK(second.ends_with(suffix));
  CHECK(sync.tokens.size() < f.tokenizer.encode(second, true).size() / 2);

  // Text that does not extend the session's: it starts over.
  sync = live.sync(render::render_chat(messages, {.mode = render::ThinkingMode::kChat}));
  CHECK(sync.restarted);
  CHECK(live.session().position() == 0);
}
