// `dsv4 convert HF_DIR OUT.gguf`: DeepSeek's release checkpoint → GGUF.
#include <chrono>
#include <cstdio>
#include <memory>

#include "apps/command.h"
#include "apps/tokenizer_gguf.h"
#include "base/error.h"
#include "base/progress.h"
#include "base/system.h"
#include "engine/checkpoint_convert.h"
#include "engine/hf_config.h"
#include "engine/runtime.h"
#include "render/hf_tokenizer_json.h"

namespace dsv4::apps {
namespace {

simd::TensorType parse_type(const std::string& name) {
  const auto type = gguf::type_from_name(name);
  if (!type) fail_usage("unknown tensor type '", name, "'");
  return *type;
}

// The embedding has rows for ids the tokenizer does not use: name them so that every id
// has a token, as llama.cpp's converter does.
void pad_vocabulary(render::TokenizerData& data, int64_t rows) {
  for (int64_t id = static_cast<int64_t>(data.tokens.size()); id < rows; ++id) {
    data.tokens.push_back("[PAD" + std::to_string(id) + "]");
    data.token_types.push_back(render::TokenType::kUnused);
  }
}

}  // namespace

int run_convert(int argc, char** argv) {
  CLI::App app{"Convert DeepSeek's release checkpoint (safetensors) to GGUF", argv[0]};
  std::string input, output, experts = "mxfp4", dense = "q8_0";
  int threads = 0;
  app.add_option("checkpoint", input,
                 "directory with config.json, tokenizer.json and the safetensors shards")
      ->required();
  app.add_option("output", output, "GGUF file to write")->required();
  app.add_option("--experts", experts, "routed expert type: mxfp4 (lossless), q4_k, q2_k")
      ->check(CLI::IsMember({"mxfp4", "q4_k", "q2_k", "q8_0", "bf16"}, CLI::ignore_case));
  app.add_option("--dense", dense, "dense weight type: q8_0, bf16 (lossless), f16, f32")
      ->check(CLI::IsMember({"q8_0", "bf16", "f16", "f32"}, CLI::ignore_case));
  app.add_option("--threads,-t", threads, "worker threads (default: one per physical core)")
      ->check(CLI::Range(0, 1024));
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;

  engine::ConvertOptions options;
  options.expert_type = parse_type(experts);
  options.dense_type = parse_type(dense);
  const engine::ModelConfig config = engine::load_hf_config(input);
  render::TokenizerData tokenizer = render::load_hf_tokenizer_dir(input);
  if (static_cast<int64_t>(tokenizer.tokens.size()) > config.vocab)
    fail(input, "/tokenizer.json: ", tokenizer.tokens.size(),
         " tokens but the model's vocab_size is ", config.vocab);
  pad_vocabulary(tokenizer, config.vocab);
  options.write_extra_metadata = [&tokenizer](gguf::GgufWriter& w) {
    write_tokenizer_metadata(w, tokenizer);
  };
  ProgressBar bar("converting", 0, "MB");
  options.progress = [&bar](uint64_t done, uint64_t total) {
    (void)total;
    bar.update(done >> 20);
  };

  const auto start = std::chrono::steady_clock::now();
  engine::Runtime runtime(threads);
  const engine::ConvertReport report =
      runtime.run([&] { return engine::convert_checkpoint(input, output, options); });
  bar.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("wrote %s: %llu tensors, %.1f MiB in %.1f s (peak RSS %.1f MiB)\n", output.c_str(),
              static_cast<unsigned long long>(report.tensors_written),
              report.bytes_written / 1048576.0, seconds, peak_rss_bytes() / 1048576.0);
  std::printf("%-18s %-8s %8s %12s %14s\n", "kind", "type", "tensors", "MiB", "rel. RMS error");
  for (const auto& k : report.kinds)
    std::printf("%-18s %-8s %8llu %12.2f %14.3e\n", k.kind.c_str(),
                std::string(gguf::type_name(k.type)).c_str(),
                static_cast<unsigned long long>(k.tensors), k.bytes / 1048576.0,
                k.relative_rms_error());
  for (const std::string& note : report.notes) std::printf("note: %s\n", note.c_str());
  return 0;
}

}  // namespace dsv4::apps
