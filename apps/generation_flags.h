// Command-line pieces shared by the commands that generate (`run`, `chat`): sampling flags,
// the thinking mode, and the one-line statistics they print.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "apps/generation.h"
#include "base/progress.h"
#include "engine/sampler.h"
#include "render/chat.h"

namespace dsv4::apps {

struct SamplingFlags {
  float temperature = 1.0f;
  float top_p = 1.0f;
  int32_t top_k = 0;
  float min_p = 0.05f;
  std::optional<uint64_t> seed;

  void add_to(CLI::App& app);
  // With no --seed, a fresh random one (reported, so the run can be repeated).
  engine::SamplerOptions sampler_options() const;
};

// Thinking at maximal effort asks for very long reasoning; below this context it falls back
// to high effort (MODEL.md §7.6).
inline constexpr int64_t kMaxEffortMinContext = 393216;

struct ThinkingChoice {
  render::ThinkingMode mode = render::ThinkingMode::kThinking;
  render::ReasoningEffort effort = render::ReasoningEffort::kHigh;
};

// The effort `choice` can have at `context`, with a note on stderr when max falls back.
ThinkingChoice fit_to_context(ThinkingChoice choice, int64_t context);
std::string describe(const ThinkingChoice& choice);  // "thinking (high)", "no thinking", ...

struct ThinkingFlags {
  bool think = false;
  bool nothink = false;
  bool think_max = false;

  void add_to(CLI::App& app);
  ThinkingChoice choice() const;
};

// The prefill progress bar, shown (on a terminal) only when the prompt takes more than one
// prefill step; it completes before the first generated text appears.
class PrefillProgress {
 public:
  PrefillProgress(size_t tokens, int64_t chunk);
  void install(GenerationCallbacks& callbacks);
  void finish();

 private:
  std::optional<ProgressBar> bar_;
};

// "35 prompt tokens (35 prefilled, 1234.5 tok/s), 32 generated (56.7 tok/s), ..."
std::string describe(const GenerationStats& stats);

}  // namespace dsv4::apps
