#include "apps/generation_flags.h"

#include <cstdio>
#include <cstdlib>
#include <random>

#include "base/error.h"

namespace dsv4::apps {

void SamplingFlags::add_to(CLI::App& app) {
  app.add_option("--temp", temperature, "sampling temperature; 0 picks the most likely token")
      ->check(CLI::Range(0.0f, 100.0f))
      ->capture_default_str();
  const CLI::Validator above_zero_up_to_one(
      [](std::string& text) -> std::string {
        const float v = std::strtof(text.c_str(), nullptr);
        return v > 0 && v <= 1 ? "" : "must be in (0, 1]";
      },
      "(0, 1]");
  app.add_option("--top-p", top_p,
                 "keep the most likely tokens up to this probability mass (1: off)")
      ->check(CLI::Number)
      ->check(above_zero_up_to_one)
      ->capture_default_str();
  app.add_option("--top-k", top_k, "keep the k most likely tokens (0: off)")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  app.add_option("--min-p", min_p, "drop tokens less likely than this times the most likely one")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  app.add_option("--seed", seed, "random seed (default: a fresh one, reported)");
}

engine::SamplerOptions SamplingFlags::sampler_options() const {
  engine::SamplerOptions o;
  o.temperature = temperature;
  o.top_p = top_p;
  o.top_k = top_k;
  o.min_p = min_p;
  if (seed) {
    o.seed = *seed;
  } else {
    std::random_device device;
    o.seed = (static_cast<uint64_t>(device()) << 32) | device();
  }
  return o;
}

ThinkingChoice fit_to_context(ThinkingChoice choice, int64_t context) {
  if (choice.mode == render::ThinkingMode::kThinking &&
      choice.effort == render::ReasoningEffort::kMax && context < kMaxEffortMinContext) {
    std::fprintf(stderr,
                 "dsv4: note: maximal thinking effort needs --ctx %lld or more; thinking at high "
                 "effort\n",
                 static_cast<long long>(kMaxEffortMinContext));
    choice.effort = render::ReasoningEffort::kHigh;
  }
  return choice;
}

std::string describe(const ThinkingChoice& choice) {
  if (choice.mode == render::ThinkingMode::kChat) return "no thinking";
  return choice.effort == render::ReasoningEffort::kMax ? "thinking (max)" : "thinking (high)";
}

void ThinkingFlags::add_to(CLI::App& app) {
  auto* a = app.add_flag("--think", think, "reason before answering, at high effort (default)");
  auto* b = app.add_flag("--nothink", nothink, "answer directly");
  auto* c = app.add_flag("--think-max", think_max,
                         "reason at maximal effort (needs --ctx " +
                             std::to_string(kMaxEffortMinContext) + " or more)");
  a->excludes(b)->excludes(c);
  b->excludes(c);
}

ThinkingChoice ThinkingFlags::choice() const {
  ThinkingChoice c;
  if (nothink) c.mode = render::ThinkingMode::kChat;
  if (think_max) c.effort = render::ReasoningEffort::kMax;
  return c;
}

PrefillProgress::PrefillProgress(size_t tokens, int64_t chunk) {
  if (static_cast<int64_t>(tokens) > chunk) bar_.emplace("prefill", tokens, "tok");
}

void PrefillProgress::install(GenerationCallbacks& callbacks) {
  if (!bar_) return;
  callbacks.prefill_progress = [this](int64_t done, int64_t total) {
    bar_->update(static_cast<uint64_t>(done));
    if (done == total) bar_->finish();
  };
}

void PrefillProgress::finish() {
  if (bar_) bar_->finish();
}

std::string describe(const GenerationStats& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%lld prompt tokens (%lld prefilled, %.1f tok/s), %lld generated (%.1f tok/s), "
                "peak RSS %.1f MiB",
                static_cast<long long>(s.prompt_tokens), static_cast<long long>(s.prefilled_tokens),
                s.prefill_tps(), static_cast<long long>(s.generated_tokens), s.decode_tps(),
                s.peak_rss_bytes / 1048576.0);
  return buf;
}

}  // namespace dsv4::apps
