// `dsv4 run -m M.gguf -p TEXT`: one-shot generation. The prompt is rendered as one user turn
// (after an optional system prompt) the way DeepSeek's chat template does, prefilled, and the
// answer streamed to stdout; statistics go to stderr. --json prints one object at the end.
// Ctrl-C ends the generation early: what was generated is still printed, and the exit status
// is 130, as for a process stopped by SIGINT.
// --session continues a conversation saved by --save-session or `dsv4 chat` /save: the prompt
// becomes its next user turn (with --raw, text appended as is), and only the new tokens are
// evaluated. --kv-dir restores the longest cached prefix of the prompt's tokens and stores
// the prompt's state for the next run (apps/kv_cache_store.h).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/command.h"
#include "apps/common_options.h"
#include "apps/generation.h"
#include "apps/generation_flags.h"
#include "apps/generation_record.h"
#include "apps/interrupt.h"
#include "apps/kv_cache_store.h"
#include "apps/live_session.h"
#include "apps/model_hash.h"
#include "apps/saved_conversation.h"
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
  auto* system_option = app.add_option("--system", system,
                                       "system prompt (default: none, as in DeepSeek's template)");
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
  std::string session_path, save_path, kv_dir;
  int64_t kv_budget_mb = 4096;
  auto* session_option =
      app.add_option("--session", session_path,
                     "continue the conversation saved in FILE (by --save-session or chat's /save)");
  app.add_option("--save-session", save_path,
                 "save the conversation and its state to FILE after generating");
  auto* kv_option = app.add_option(
      "--kv-dir", kv_dir,
      "cache of prompt states: restore the longest cached prefix, store the prompt's state");
  app.add_option("--kv-budget-mb", kv_budget_mb, "size limit of --kv-dir in MiB (default: 4096)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->needs(kv_option);
  session_option->excludes(kv_option);
  session_option->excludes(system_option);
  compute.add_to(app);
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;
  if (prompt_option->count() == 0 && file_option->count() == 0)
    fail_usage(argv[0], ": give the prompt with -p or --prompt-file");

  compute.pin_target();
  if (file_option->count() > 0) prompt = read_prompt_file(prompt_file);
  const auto model = engine::Model::load(model_path, compute.weight_memory());
  const render::Tokenizer tokenizer(read_tokenizer_metadata(model->file()));
  const engine::SessionOptions session_options = compute.session_options();

  raw = raw || prompt.starts_with(render::kBosText);
  engine::Runtime runtime(compute.threads);
  LiveSession live(runtime, *model, tokenizer, session_options);
  SavedConversation conversation;
  if (session_option->count() > 0) {
    conversation = load_conversation(session_path, live, /*require_messages=*/!raw);
    std::fprintf(stderr, "dsv4: continuing %s (%lld tokens)\n", session_path.c_str(),
                 static_cast<long long>(live.session().position()));
  }
  const bool thinking_given = thinking.think || thinking.nothink || thinking.think_max;
  ThinkingChoice choice =
      thinking_given || session_option->count() == 0 ? thinking.choice() : conversation.thinking;
  std::string rendered;
  if (raw) {
    rendered = prompt;
    choice.mode = mode_of_rendered(prompt);
    conversation.messages.reset();  // the state's text is no longer a rendered conversation
  } else {
    choice = fit_to_context(choice, session_options.context);
    if (!conversation.messages) {
      conversation.messages = ordered_json::array();
      if (!system.empty())
        conversation.messages->push_back({{"role", "system"}, {"content", system}});
    }
    conversation.messages->push_back({{"role", "user"}, {"content", prompt}});
    // Earlier replies keep their reasoning, as the saved state holds it (cmd_chat.cc).
    rendered =
        render::render_chat(*conversation.messages,
                            {.mode = choice.mode, .effort = choice.effort, .drop_thinking = false});
  }
  conversation.thinking = choice;
  std::vector<int32_t> tokens;
  if (raw) {
    tokens = tokenizer.encode(rendered, /*special=*/true);
  } else {
    const LiveSession::Sync sync = live.sync(rendered);
    if (sync.restarted)
      std::fprintf(stderr, "dsv4: the saved state does not hold its conversation: re-reading it\n");
    tokens = sync.tokens;
  }
  if (tokens.empty() && live.session().position() == 0)
    fail_usage(argv[0], ": the prompt is empty");
  const int64_t needed = live.session().position() + static_cast<int64_t>(tokens.size());
  if (needed > session_options.context)
    fail("the prompt has ", needed, " tokens but the context holds ", session_options.context,
         " (raise --ctx)");
  live.announce_memory();

  std::optional<KvCacheStore> cache;
  if (!kv_dir.empty()) {
    cache.emplace(kv_dir, static_cast<uint64_t>(kv_budget_mb) << 20);
    const KvCacheHit hit = cache->restore_longest_prefix(live.session(), tokens);
    live.state_replaced();
    for (const std::string& reason : hit.refused)
      std::fprintf(stderr, "dsv4: kv cache: removed a bad file: %s\n", reason.c_str());
    std::fprintf(stderr,
                 "dsv4: kv cache: %lld of the %zu prompt tokens restored%s%s; %lld to evaluate\n",
                 static_cast<long long>(hit.tokens), tokens.size(), hit.tokens ? " from " : "",
                 hit.file.c_str(), static_cast<long long>(tokens.size()) - hit.tokens);
    tokens.erase(tokens.begin(), tokens.begin() + hit.tokens);
  }

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
  if (cache) {
    // The prompt's state is stored once it is complete, before anything is generated.
    callbacks.prefill_progress = [&, bar = callbacks.prefill_progress](int64_t done,
                                                                       int64_t total) {
      if (bar) bar(done, total);
      if (done == total && cache->store(live.session()))
        std::fprintf(stderr, "dsv4: kv cache: stored the prompt's %lld tokens in %s\n",
                     static_cast<long long>(live.session().position()), kv_dir.c_str());
    };
  }
  if (!json) callbacks.stream = [&printer](const render::StreamEvent& e) { printer.print(e); };
  GenerationRecord record;
  if (json) {
    record.model_file = std::filesystem::absolute(model_path).string();
    record.model_hash = model_content_hash(model_path);
    record.session = session_options;
    record.target = simd::active_target();
    record.prompt_tokens = live.session().tokens();
    record.prompt_tokens.insert(record.prompt_tokens.end(), tokens.begin(), tokens.end());
    record.restored_state = live.session().position() > 0;
    record.sampling = sampler.options();
    record.max_tokens = max_tokens;
    record.stop = stop;
    record.mode = choice.mode;
  }
  const GenerationResult result = generate(runtime, live.session(), tokenizer, sampler, tokens,
                                           options, callbacks, &InterruptHandler::flag());
  progress.finish();
  if (!json) printer.finish();
  std::fprintf(stderr, "dsv4: %s, finish %s, seed %llu\n", describe(result.stats).c_str(),
               finish_reason_name(result.finish),
               static_cast<unsigned long long>(sampler_options.seed));
  if (!save_path.empty()) {
    if (conversation.messages)
      conversation.messages->push_back(assistant_message(result.text, choice.mode));
    save_conversation(save_path, live, conversation);
    std::fprintf(stderr, "dsv4: saved the session (%lld tokens) to %s\n",
                 static_cast<long long>(live.session().position()), save_path.c_str());
  }
  if (json) {
    ordered_json j = result_json(result, sampler.options(), compute.precision, choice, raw);
    record.generated = result.tokens;
    j["reproduce"] = record_to_json(record);
    const std::string out = j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
    std::printf("%s\n", out.c_str());
  }
  return result.finish == FinishReason::kCancelled ? 130 : 0;
}

}  // namespace dsv4::apps
