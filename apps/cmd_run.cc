// `dsv4 run -m M.gguf -p TEXT`: one-shot generation. The prompt is rendered as one user turn
// (after an optional system prompt) the way DeepSeek's chat template does, prefilled, and the
// answer streamed to stdout; statistics go to stderr. --json prints one object at the end.
// Ctrl-C ends the generation early: what was generated is still printed, and the exit status
// is 130, as for a process stopped by SIGINT.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/command.h"
#include "apps/common_options.h"
#include "apps/generation.h"
#include "apps/generation_flags.h"
#include "apps/interrupt.h"
#include "apps/live_session.h"
#include "apps/stream_printer.h"
#include "apps/tokenizer_gguf.h"
#include "base/error.h"
#include "engine/model.h"
#include "render/chat.h"
#include "render/dsml.h"
#include "simd/targets.h"

namespace dsv4::apps {
namespace {

using nlohmann::ordered_json;

std::string read_prompt_file(const std::string& path) {
  if (path == "-")
    return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot read: ", std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A rendered prompt ending in "<think>" expects reasoning first; anything else an answer.
render::ThinkingMode mode_of_rendered(std::string_view prompt) {
  while (!prompt.empty() && std::isspace(static_cast<unsigned char>(prompt.back())))
    prompt.remove_suffix(1);
  return prompt.ends_with(render::kThinkStart) ? render::ThinkingMode::kThinking
                                               : render::ThinkingMode::kChat;
}

// A float option as the user wrote it (0.05, not 0.05000000074505806).
double decimal(float v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.7g", v);
  return std::strtod(text, nullptr);
}

ordered_json result_json(const GenerationResult& r, const engine::SamplerOptions& sampling,
                         const std::string& precision, const ThinkingChoice& thinking, bool raw) {
  ordered_json j;
  j["text"] = r.message.content;
  j["reasoning"] = r.message.reasoning_content;
  if (!r.message.tool_calls.empty()) {
    ordered_json calls = ordered_json::array();
    for (const render::ToolCall& c : r.message.tool_calls)
      calls.push_back({{"name", c.name}, {"arguments", c.arguments}});
    j["tool_calls"] = std::move(calls);
  }
  j["tokens"] = r.tokens;
  j["prompt_tokens"] = r.stats.prompt_tokens;
  j["finish_reason"] = finish_reason_name(r.finish);
  j["raw_text"] = r.text;
  j["stats"] = {
      {"prefill_seconds", r.stats.prefill_seconds},   {"prefill_tps", r.stats.prefill_tps()},
      {"generated_tokens", r.stats.generated_tokens}, {"decode_seconds", r.stats.decode_seconds},
      {"decode_tps", r.stats.decode_tps()},           {"peak_rss_bytes", r.stats.peak_rss_bytes},
  };
  j["seed"] = sampling.seed;
  j["sampling"] = {{"temperature", decimal(sampling.temperature)},
                   {"top_k", sampling.top_k},
                   {"top_p", decimal(sampling.top_p)},
                   {"min_p", decimal(sampling.min_p)}};
  j["thinking"] = raw ? "raw prompt" : describe(thinking);
  j["precision"] = precision;
  j["target"] = simd::active_target();
  if (sampling.logprobs) {
    ordered_json list = ordered_json::array();
    for (const GeneratedLogprobs& t : r.logprobs) {
      ordered_json top = ordered_json::array();
      for (const engine::TokenLogprob& alt : t.top)
        top.push_back({{"token", alt.token}, {"logprob", alt.logprob}});
      list.push_back({{"token", t.token}, {"logprob", t.logprob}, {"top", std::move(top)}});
    }
    j["logprobs"] = std::move(list);
  }
  return j;
}

}  // namespace

int run_run(int argc, char** argv) {
  CLI::App app{"Generate an answer to one prompt", argv[0]};
  std::string model_path, prompt, prompt_file, system;
  bool raw = false, json = false;
  int64_t max_tokens = -1;
  int32_t logprobs = -1;
  std::vector<std::string> stop;
  ComputeOptions compute;
  SamplingFlags sampling;
  ThinkingFlags thinking;
  app.add_option("-m,--model", model_path, "GGUF model")->required();
  auto* prompt_option = app.add_option("-p,--prompt", prompt, "the user's message");
  auto* file_option = app.add_option("--prompt-file", prompt_file,
                                     "read the prompt from a file, as is ('-': stdin)");
  prompt_option->excludes(file_option);
  app.add_option("--system", system, "system prompt (default: none, as in DeepSeek's template)");
  app.add_flag("--raw", raw,
               "the prompt is already rendered: no template, special-token text recognised "
               "(implied when it starts with the BOS text)");
  thinking.add_to(app);
  app.add_option("-n,--tokens", max_tokens,
                 "at most this many new tokens (default: until EOS or a full context)")
      ->check(CLI::NonNegativeNumber);
  sampling.add_to(app);
  app.add_option("--stop", stop, "stop before this text (repeatable)");
  auto* json_flag =
      app.add_flag("--json", json, "print one JSON object at the end instead of streaming text");
  app.add_option("--logprobs", logprobs,
                 "with --json: log-probabilities of each token and of its N most likely "
                 "alternatives")
      ->check(CLI::Range(0, 100))
      ->needs(json_flag);
  compute.add_to(app);
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;
  if (prompt_option->count() == 0 && file_option->count() == 0)
    fail_usage(argv[0], ": give the prompt with -p or --prompt-file");

  simd::pin_target_from_environment();
  if (file_option->count() > 0) prompt = read_prompt_file(prompt_file);
  const auto model = engine::Model::load(model_path);
  const render::Tokenizer tokenizer(read_tokenizer_metadata(model->file()));
  const engine::SessionOptions session_options = compute.session_options();

  raw = raw || prompt.starts_with(render::kBosText);
  ThinkingChoice choice = thinking.choice();
  std::string rendered;
  if (raw) {
    rendered = prompt;
    choice.mode = mode_of_rendered(prompt);
  } else {
    choice = fit_to_context(choice, session_options.context);
    ordered_json messages = ordered_json::array();
    if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
    messages.push_back({{"role", "user"}, {"content", prompt}});
    rendered = render::render_chat(messages, {.mode = choice.mode, .effort = choice.effort});
  }
  const std::vector<int32_t> tokens = tokenizer.encode(rendered, /*special=*/true);
  if (tokens.empty()) fail_usage(argv[0], ": the prompt is empty");
  if (static_cast<int64_t>(tokens.size()) > session_options.context)
    fail("the prompt has ", tokens.size(), " tokens but the context holds ",
         session_options.context, " (raise --ctx)");

  engine::Runtime runtime(compute.threads);
  LiveSession live(runtime, *model, tokenizer, session_options);
  engine::SamplerOptions sampler_options = sampling.sampler_options();
  sampler_options.logprobs = logprobs >= 0;
  sampler_options.top_logprobs = std::max(logprobs, 0);
  engine::Sampler sampler(model->config().vocab, sampler_options);
  GenerationOptions options;
  options.max_tokens = max_tokens;
  options.stop = stop;
  options.mode = choice.mode;

  InterruptHandler interrupt(/*second_interrupt_exits=*/true);
  StreamPrinter printer(stdout);
  PrefillProgress progress(tokens.size(), session_options.chunk);
  GenerationCallbacks callbacks;
  progress.install(callbacks);
  if (!json) callbacks.stream = [&printer](const render::StreamEvent& e) { printer.print(e); };
  const GenerationResult result = generate(runtime, live.session(), tokenizer, sampler, tokens,
                                           options, callbacks, &InterruptHandler::flag());
  progress.finish();
  if (!json) printer.finish();
  std::fprintf(stderr, "dsv4: %s, finish %s, seed %llu\n", describe(result.stats).c_str(),
               finish_reason_name(result.finish),
               static_cast<unsigned long long>(sampler_options.seed));
  if (json) {
    const std::string out = result_json(result, sampler.options(), compute.precision, choice, raw)
                                .dump(-1, ' ', false, ordered_json::error_handler_t::replace);
    std::printf("%s\n", out.c_str());
  }
  return result.finish == FinishReason::kCancelled ? 130 : 0;
}

}  // namespace dsv4::apps
