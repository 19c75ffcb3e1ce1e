// `dsv4 bench -m M.gguf`: prefill and decode throughput at context frontiers, as CSV. Walks a
// token stream to each frontier (only the new interval is prefilled and timed), saves the
// session, decodes --gen-tokens greedily (EOS excluded), restores, and moves on.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "apps/bench_plot.h"
#include "apps/command.h"
#include "apps/common_options.h"
#include "apps/tokenizer_gguf.h"
#include "base/bandwidth.h"
#include "base/error.h"
#include "base/system.h"
#include "engine/memory_plan.h"
#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/session.h"
#include "render/tokenizer.h"
#include "simd/ops.h"
#include "simd/targets.h"

namespace dsv4::apps {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Deterministic stand-in for text: ids from a fixed linear congruential sequence, avoiding
// the low ids where special tokens live.
std::vector<int32_t> builtin_tokens(int64_t n, int32_t vocab) {
  std::vector<int32_t> out(static_cast<size_t>(n));
  uint64_t state = 0x2545F4914F6CDD1Dull;
  const int32_t first = std::min<int32_t>(vocab - 1, 300);
  for (auto& t : out) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    t = first + static_cast<int32_t>((state >> 33) % static_cast<uint64_t>(vocab - first));
  }
  return out;
}

}  // namespace

int run_bench(int argc, char** argv) {
  CLI::App app{
      "Measure prefill and decode throughput at context frontiers (CSV on stdout). "
      "read_gbps is the machine's read bandwidth measured right before and right after "
      "each frontier's decode (the mean of the two), so effective_gbps / read_gbps "
      "compares numbers taken moments apart",
      argv[0]};
  std::string model_path, prompt_file, plot;
  int64_t ctx_start = 2048, ctx_max = 32768, step_incr = 2048, gen_tokens = 128;
  double step_mul = 0;
  ComputeOptions compute;
  app.add_option("-m,--model", model_path, "GGUF model")->required();
  app.add_option("--prompt-file", prompt_file,
                 "text to walk through (default: a built-in token stream)");
  app.add_option("--ctx-start", ctx_start, "first frontier")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  app.add_option("--ctx-max", ctx_max, "last frontier")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  app.add_option("--step-incr", step_incr, "distance between frontiers")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  app.add_option("--step-mul", step_mul, "ratio between frontiers (instead of --step-incr)")
      ->check(CLI::Range(1.01, 1e6));
  app.add_option("--gen-tokens", gen_tokens, "tokens decoded at each frontier")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  app.add_option("--plot", plot, "also draw tokens/s against context into this SVG file");
  compute.add_to(app, false);
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;
  if (ctx_max < ctx_start) fail_usage("--ctx-max ", ctx_max, " is below --ctx-start ", ctx_start);
  compute.pin_target();

  std::vector<int64_t> frontiers;
  for (int64_t f = ctx_start; f <= ctx_max;) {
    frontiers.push_back(f);
    const int64_t next = step_mul > 0
                             ? static_cast<int64_t>(std::llround(static_cast<double>(f) * step_mul))
                             : f + step_incr;
    f = std::max(next, f + 1);
  }

  const auto model = engine::Model::load(model_path, compute.weight_memory());
  const engine::ModelConfig& c = model->config();
  std::vector<int32_t> stream;
  if (!prompt_file.empty()) {
    std::ifstream in(prompt_file, std::ios::binary);
    if (!in) fail(prompt_file, ": cannot open");
    std::stringstream text;
    text << in.rdbuf();
    const render::Tokenizer tokenizer(read_tokenizer_metadata(model->file()));
    stream = tokenizer.encode(text.str());
    if (stream.empty()) fail(prompt_file, ": no tokens");
    // Repeat the text to reach the last frontier.
    const size_t base = stream.size();
    while (static_cast<int64_t>(stream.size()) < ctx_max)
      stream.push_back(stream[stream.size() % base]);
  } else {
    stream = builtin_tokens(ctx_max, c.vocab);
  }
  engine::SessionOptions options = compute.session_options();
  options.context = ctx_max + gen_tokens;
  const auto plan = engine::plan_memory(c, model->weights().bytes, options);
  engine::require_memory_fits(plan, options.context);

  engine::Runtime runtime(compute.threads);
  std::fprintf(stderr, "measuring read bandwidth with %d threads...\n", runtime.threads());
  const double read_bw = measure_read_bandwidth(runtime.threads());
  const uint64_t weight_bytes = model->weight_bytes_per_token();
  int32_t eos = -1;
  if (model->file().has("tokenizer.ggml.eos_token_id"))
    eos = static_cast<int32_t>(model->file().get_u32("tokenizer.ggml.eos_token_id"));

  std::printf(
      "# model %s, %s\n# %s\n# target %s, threads %d, precision %s, chunk %lld, read bandwidth "
      "%.2f GB/s\n",
      model_path.c_str(), c.describe().c_str(), model->weight_memory_note().c_str(),
      simd::active_target().c_str(), runtime.threads(), compute.precision.c_str(),
      static_cast<long long>(options.chunk), read_bw / 1e9);
  std::printf(
      "ctx,prefill_tokens,prefill_tps,gen_tokens,gen_tps,weight_bytes_per_token,effective_gbps,"
      "read_gbps,kv_bytes,rss_bytes\n");
  std::fflush(stdout);
  std::vector<double> xs, prefill_rates, decode_rates;
  runtime.run([&] {
    engine::Session session(*model, options);
    engine::SessionSnapshot snapshot;
    std::vector<float> logits(static_cast<size_t>(c.vocab));
    for (int64_t frontier : frontiers) {
      const int64_t from = session.position();
      const auto start = Clock::now();
      session.evaluate(
          std::span<const int32_t>(stream.data() + from, static_cast<size_t>(frontier - from)));
      const double prefill_s = seconds_since(start);
      const uint64_t kv_bytes = session.kv_state().used_bytes(session.position());
      session.save(snapshot);
      // Bandwidth on a shared machine drifts by tens of percent within minutes, so each
      // decode is compared with the bandwidth measured right before and right after it.
      const double read_bw_before = gen_tokens > 0 ? measure_read_bandwidth(runtime.threads()) : 0;
      const auto decode_start = Clock::now();
      for (int64_t i = 0; i < gen_tokens; ++i) {
        std::copy(session.last_logits().begin(), session.last_logits().end(), logits.begin());
        if (eos >= 0 && eos < c.vocab) logits[static_cast<size_t>(eos)] = -INFINITY;
        const int32_t next = static_cast<int32_t>(simd::argmax(logits.data(), c.vocab));
        session.evaluate(std::span<const int32_t>(&next, 1));
      }
      const double decode_s = seconds_since(decode_start);
      const double read_bw_here =
          gen_tokens > 0 ? (read_bw_before + measure_read_bandwidth(runtime.threads())) / 2
                         : read_bw;
      session.restore(snapshot);
      const double prefill_tps = static_cast<double>(frontier - from) / prefill_s;
      const double gen_tps = gen_tokens > 0 ? static_cast<double>(gen_tokens) / decode_s : 0.0;
      std::printf("%lld,%lld,%.2f,%lld,%.2f,%llu,%.2f,%.2f,%llu,%llu\n",
                  static_cast<long long>(frontier), static_cast<long long>(frontier - from),
                  prefill_tps, static_cast<long long>(gen_tokens), gen_tps,
                  static_cast<unsigned long long>(weight_bytes),
                  static_cast<double>(weight_bytes) * gen_tps / 1e9, read_bw_here / 1e9,
                  static_cast<unsigned long long>(kv_bytes),
                  static_cast<unsigned long long>(current_rss_bytes()));
      std::fflush(stdout);
      xs.push_back(static_cast<double>(frontier));
      prefill_rates.push_back(prefill_tps);
      decode_rates.push_back(gen_tps);
    }
  });
  if (!plot.empty())
    write_svg_plot(
        plot, "dsv4 bench: " + model_path, xs,
        {{"prefill tok/s", "#1f77b4", prefill_rates}, {"decode tok/s", "#d62728", decode_rates}},
        "tokens/s");
  return 0;
}

}  // namespace dsv4::apps
