// `dsv4 synth OUT.gguf`: a random-weight model of any shape, with a built-in vocabulary.
#include <chrono>
#include <cstdio>

#include "apps/command.h"
#include "apps/tokenizer_gguf.h"
#include "base/error.h"
#include "base/progress.h"
#include "engine/runtime.h"
#include "engine/synth_model.h"
#include "render/synthetic_vocab.h"

namespace dsv4::apps {

int run_synth(int argc, char** argv) {
  CLI::App app{"Write a random-weight DeepSeek V4 model (GGUF) of any shape", argv[0]};
  std::string output, preset = "tiny", experts_type = "mxfp4", dense_type = "q8_0";
  int layers = 0, experts = 0, vocab = 0, threads = 0;
  uint64_t seed = 1;
  app.add_option("output", output, "GGUF file to write")->required();
  app.add_option("--preset", preset, "tiny (seconds to make) or flash (DeepSeek V4 Flash shapes)")
      ->check(CLI::IsMember({"tiny", "flash"}));
  app.add_option("--layers", layers, "number of layers (default: the preset's)")
      ->check(CLI::Range(1, 512));
  app.add_option("--experts", experts, "routed experts per layer (default: the preset's)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--vocab", vocab, "vocabulary size (default: the preset's)")
      ->check(CLI::Range(static_cast<int>(render::kMinSyntheticVocab), 1 << 22));
  app.add_option("--seed", seed, "seed of the random weights");
  app.add_option("--experts-type", experts_type,
                 "routed expert type: mxfp4, q4_k, q2_k, q8_0, bf16")
      ->check(CLI::IsMember({"mxfp4", "q4_k", "q2_k", "q8_0", "bf16"}, CLI::ignore_case));
  app.add_option("--dense-type", dense_type, "dense weight type: q8_0, bf16, f16, f32")
      ->check(CLI::IsMember({"q8_0", "bf16", "f16", "f32"}, CLI::ignore_case));
  app.add_option("--threads,-t", threads, "worker threads (default: one per physical core)")
      ->check(CLI::Range(0, 1024));
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;

  engine::SynthOptions options;
  options.config = engine::synthetic_config(preset, layers, experts, vocab);
  options.seed = seed;
  options.expert_type = *gguf::type_from_name(experts_type);
  options.dense_type = *gguf::type_from_name(dense_type);
  const render::TokenizerData tokenizer =
      render::synthetic_tokenizer(static_cast<size_t>(options.config.vocab));
  options.write_extra_metadata = [&tokenizer](gguf::GgufWriter& w) {
    write_tokenizer_metadata(w, tokenizer);
  };
  ProgressBar bar("writing", 0, "MB");
  options.progress = [&bar](uint64_t done, uint64_t) { bar.update(done >> 20); };

  const auto start = std::chrono::steady_clock::now();
  engine::Runtime runtime(threads);
  const engine::SynthReport report =
      runtime.run([&] { return engine::write_synthetic_model(output, options); });
  bar.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("wrote %s: %s model, %llu tensors, %.1f MiB in %.1f s\n  %s\n", output.c_str(),
              preset.c_str(), static_cast<unsigned long long>(report.tensors),
              report.bytes / 1048576.0, seconds, options.config.describe().c_str());
  for (const std::string& note : report.notes) std::printf("note: %s\n", note.c_str());
  return 0;
}

}  // namespace dsv4::apps
