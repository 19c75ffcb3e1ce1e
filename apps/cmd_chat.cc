// `dsv4 chat -m M.gguf`: a multi-turn conversation in the terminal. Every turn renders the
// whole conversation and evaluates only what the live session lacks, so a turn costs its new
// tokens, not the history. Earlier replies keep their reasoning in the history (encoding_dsv4
// with drop_thinking off, as ds4's REPL keeps the generated text): dropping it would change
// the text the session already holds and force a full re-read every turn.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/command.h"
#include "apps/common_options.h"
#include "apps/generation.h"
#include "apps/generation_flags.h"
#include "apps/interrupt.h"
#include "apps/line_editor.h"
#include "apps/live_session.h"
#include "apps/saved_conversation.h"
#include "apps/stream_printer.h"
#include "apps/tokenizer_gguf.h"
#include "base/error.h"
#include "engine/model.h"
#include "render/chat.h"

namespace dsv4::apps {
namespace {

using nlohmann::ordered_json;

constexpr const char* kPrompt = "dsv4> ";

constexpr const char* kHelp =
    "commands:\n"
    "  /think        reason before answering, at high effort (the default)\n"
    "  /think-max    reason at maximal effort (needs a context of 393216 tokens or more)\n"
    "  /nothink      answer directly\n"
    "  /ctx N        start a new session of N tokens of context (the conversation is re-read)\n"
    "  /read FILE    send the contents of FILE as your next message\n"
    "  /save FILE    save the conversation with its session state\n"
    "  /load FILE    continue a saved conversation (the current one is replaced)\n"
    "  /help         this list\n"
    "  /quit         leave (also /exit, or Ctrl-D at the prompt)\n"
    "Ctrl-C stops a reply; at the prompt it clears the line.\n";

struct ChatSettings {
  std::string system;
  int64_t max_tokens = -1;
  ThinkingChoice thinking;
};

class Chat {
 public:
  Chat(engine::Runtime& runtime, const render::Tokenizer& tokenizer, LiveSession& live,
       engine::Sampler& sampler, ChatSettings settings)
      : runtime_(runtime),
        tokenizer_(tokenizer),
        live_(live),
        sampler_(sampler),
        settings_(std::move(settings)) {
    if (!settings_.system.empty())
      messages_.push_back({{"role", "system"}, {"content", settings_.system}});
  }

  // Sends a user message and streams the reply.
  void turn(const std::string& text);
  // Runs a /command; returns false to quit.
  bool command(const std::string& line);

 private:
  void set_thinking(ThinkingChoice choice);
  void save(const std::string& path);
  void load(const std::string& path);

  engine::Runtime& runtime_;
  const render::Tokenizer& tokenizer_;
  LiveSession& live_;
  engine::Sampler& sampler_;
  ChatSettings settings_;
  ordered_json messages_ = ordered_json::array();
};

void Chat::turn(const std::string& text) {
  messages_.push_back({{"role", "user"}, {"content", text}});
  const render::ChatOptions options{
      .mode = settings_.thinking.mode, .effort = settings_.thinking.effort, .drop_thinking = false};
  const std::string prompt = render::render_chat(messages_, options);
  const LiveSession::Sync sync = live_.sync(prompt);
  engine::Session& session = live_.session();
  const int64_t context = session.options().context;
  if (sync.restarted)
    std::fprintf(stderr, "[the conversation no longer extends the session: re-reading it]\n");
  const int64_t needed = session.position() + static_cast<int64_t>(sync.tokens.size());
  if (needed >= context) {
    std::fprintf(stderr,
                 "[the conversation needs %lld tokens but the context holds %lld: /ctx N for a "
                 "larger one]\n",
                 static_cast<long long>(needed), static_cast<long long>(context));
    messages_.erase(messages_.size() - 1);
    return;
  }

  GenerationOptions generation;
  generation.max_tokens = settings_.max_tokens;
  generation.mode = settings_.thinking.mode;
  StreamPrinter printer(stdout);
  PrefillProgress progress(sync.tokens.size(), session.options().chunk);
  GenerationCallbacks callbacks;
  progress.install(callbacks);
  callbacks.stream = [&printer](const render::StreamEvent& e) { printer.print(e); };
  InterruptHandler::clear();
  const GenerationResult result = generate(runtime_, session, tokenizer_, sampler_, sync.tokens,
                                           generation, callbacks, &InterruptHandler::flag());
  progress.finish();
  printer.finish();
  InterruptHandler::clear();
  messages_.push_back(assistant_message(result.text, settings_.thinking.mode));

  const GenerationStats& s = result.stats;
  std::fprintf(stderr,
               "[prefilled %lld new tokens, %.1f tok/s; generated %lld tokens, %.1f tok/s; "
               "context %lld/%lld; %s]\n",
               static_cast<long long>(s.prefilled_tokens), s.prefill_tps(),
               static_cast<long long>(s.generated_tokens), s.decode_tps(),
               static_cast<long long>(session.position()), static_cast<long long>(context),
               result.finish == FinishReason::kCancelled ? "interrupted"
                                                         : finish_reason_name(result.finish));
}

void Chat::set_thinking(ThinkingChoice choice) {
  settings_.thinking = fit_to_context(choice, live_.options().context);
  std::printf("[%s]\n", describe(settings_.thinking).c_str());
}

void Chat::save(const std::string& path) {
  try {
    save_conversation(path, live_, {messages_, settings_.thinking});
    std::printf("[saved %zu messages and %lld tokens of state to %s]\n", messages_.size(),
                static_cast<long long>(live_.session().position()), path.c_str());
  } catch (const Error& e) {
    std::printf("[not saved: %s]\n", e.what());
  }
}

// The saved messages replace the conversation; the next turn evaluates only what follows the
// saved state.
void Chat::load(const std::string& path) {
  try {
    const SavedConversation saved = load_conversation(path, live_, /*require_messages=*/true);
    messages_ = *saved.messages;
    settings_.thinking = fit_to_context(saved.thinking, live_.options().context);
    std::printf("[loaded %zu messages and %lld tokens of state from %s; %s]\n", messages_.size(),
                static_cast<long long>(live_.session().position()), path.c_str(),
                describe(settings_.thinking).c_str());
  } catch (const Error& e) {
    std::printf("[not loaded, the conversation is unchanged: %s]\n", e.what());
  }
}

bool Chat::command(const std::string& line) {
  std::istringstream words(line);
  std::string name, argument;
  words >> name;
  std::getline(words >> std::ws, argument);
  using render::ReasoningEffort;
  using render::ThinkingMode;
  if (name == "/quit" || name == "/exit") return false;
  if (name == "/help") {
    std::fputs(kHelp, stdout);
  } else if (name == "/think") {
    set_thinking({ThinkingMode::kThinking, ReasoningEffort::kHigh});
  } else if (name == "/think-max") {
    set_thinking({ThinkingMode::kThinking, ReasoningEffort::kMax});
  } else if (name == "/nothink") {
    set_thinking({ThinkingMode::kChat, ReasoningEffort::kHigh});
  } else if (name == "/ctx") {
    char* end = nullptr;
    const long long n = std::strtoll(argument.c_str(), &end, 10);
    if (argument.empty() || *end != '\0' || n < 1 || n > (1ll << 24)) {
      std::printf("[usage: /ctx N, with N from 1 to %lld tokens]\n", 1ll << 24);
      return true;
    }
    engine::SessionOptions options = live_.options();
    options.context = n;
    try {
      live_.reopen(options);
      std::printf("[a new session of %lld tokens; the conversation is re-read at the next turn]\n",
                  n);
      settings_.thinking = fit_to_context(settings_.thinking, n);
    } catch (const Error& e) {
      std::printf("[not changed: %s]\n", e.what());
    }
  } else if (name == "/read") {
    std::ifstream in(argument, std::ios::binary);
    if (argument.empty() || !in) {
      std::printf("[cannot read '%s': %s]\n", argument.c_str(),
                  argument.empty() ? "no file given" : std::strerror(errno));
      return true;
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::printf("[sending %zu bytes from %s]\n", text.str().size(), argument.c_str());
    turn(text.str());
  } else if ((name == "/save" || name == "/load") && argument.empty()) {
    std::printf("[usage: %s FILE]\n", name.c_str());
  } else if (name == "/save") {
    save(argument);
  } else if (name == "/load") {
    load(argument);
  } else {
    std::printf("[unknown command %s: /help lists them]\n", name.c_str());
  }
  return true;
}

}  // namespace

int run_chat(int argc, char** argv) {
  CLI::App app{"Chat with the model: a multi-turn conversation with line editing", argv[0]};
  std::string model_path;
  ChatSettings settings;
  ComputeOptions compute;
  SamplingFlags sampling;
  ThinkingFlags thinking;
  app.add_option("-m,--model", model_path, "GGUF model")->required();
  app.add_option("--system", settings.system,
                 "system prompt (default: none, as in DeepSeek's template)");
  thinking.add_to(app);
  app.add_option("-n,--tokens", settings.max_tokens,
                 "at most this many tokens per reply (default: until EOS or a full context)")
      ->check(CLI::NonNegativeNumber);
  sampling.add_to(app);
  compute.add_to(app);
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;

  compute.pin_target();
  const auto model = engine::Model::load(model_path, compute.weight_memory());
  const render::Tokenizer tokenizer(read_tokenizer_metadata(model->file()));
  engine::Runtime runtime(compute.threads);
  LiveSession live(runtime, *model, tokenizer, compute.session_options());
  live.announce_memory();
  settings.thinking = fit_to_context(thinking.choice(), compute.context);
  const engine::SamplerOptions sampler_options = sampling.sampler_options();
  engine::Sampler sampler(model->config().vocab, sampler_options);

  std::fprintf(stderr,
               "dsv4 chat: %s, context %lld, %s, seed %llu. /help lists the commands; Ctrl-D "
               "quits.\n",
               model_path.c_str(), static_cast<long long>(compute.context),
               describe(settings.thinking).c_str(),
               static_cast<unsigned long long>(sampler_options.seed));
  Chat chat(runtime, tokenizer, live, sampler, std::move(settings));
  InterruptHandler interrupt(/*second_interrupt_exits=*/false);
  LineEditor editor(argv[0]);
  std::string line;
  while (true) {
    const LineEditor::Status status = editor.read(kPrompt, line);
    if (status == LineEditor::Status::kEnd) break;
    if (status == LineEditor::Status::kInterrupted) {
      std::printf("\n");
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    editor.remember(line);
    try {
      if (line.front() == '/') {
        if (!chat.command(line)) break;
      } else {
        chat.turn(line);
      }
    } catch (const Error& e) {
      std::fflush(stdout);
      std::fprintf(stderr, "dsv4: error: %s\n", e.what());
    }
    std::fflush(stdout);
  }
  std::printf("\n");
  return 0;
}

}  // namespace dsv4::apps
