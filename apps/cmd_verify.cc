// `dsv4 verify RESULT.json`: runs a generation recorded by `dsv4 run --json` again (its
// "reproduce" object: apps/generation_record.h) and reports whether the same tokens come out,
// or where they first differ. The model must have the recorded content hash and the SIMD
// target the recorded one (pinned here; a CPU without it cannot verify). Exit status 0 when
// identical, 1 when the tokens differ, 2 for a usage error.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "apps/command.h"
#include "apps/generation.h"
#include "apps/generation_record.h"
#include "apps/model_hash.h"
#include "apps/tokenizer_gguf.h"
#include "base/error.h"
#include "base/json_limits.h"
#include "engine/model.h"
#include "simd/targets.h"

namespace dsv4::apps {
namespace {

constexpr size_t kMaxResultBytes = size_t{256} << 20;

std::string read_result(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxResultBytes) fail(path, ": larger than a result file can be");
  return text.str();
}

// A token's text for the report, quoted with escapes so that control bytes stay visible.
std::string quoted(const render::Tokenizer& tokenizer, int32_t id) {
  std::string out = "\"";
  for (unsigned char c : tokenizer.decode(std::span<const int32_t>(&id, 1))) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

int run_verify(int argc, char** argv) {
  CLI::App app{"Run a result recorded by `dsv4 run --json` again and compare the tokens", argv[0]};
  std::string result_path, model_path;
  int threads = 0;
  app.add_option("result", result_path, "JSON written by `dsv4 run --json`")->required();
  app.add_option("-m,--model", model_path, "the model (default: the recorded file)");
  app.add_option("-t,--threads", threads, "worker threads (default: one per physical core)")
      ->check(CLI::Range(0, 1024));
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;

  const nlohmann::json result = parse_json_limited(read_result(result_path), result_path);
  if (!result.is_object() || !result.contains("reproduce"))
    fail(result_path, ": no \"reproduce\" object (write results with `dsv4 run --json`)");
  const GenerationRecord record = record_from_json(result.at("reproduce"));
  if (model_path.empty()) model_path = record.model_file;
  const std::string hash = model_content_hash(model_path);
  if (hash != record.model_hash)
    fail(model_path, ": content hash ", hash, ", but the result was made with ", record.model_hash);
  simd::pin_target(record.target);

  const auto model = engine::Model::load(model_path);
  const render::Tokenizer tokenizer(read_tokenizer_metadata(model->file()));
  engine::Runtime runtime(threads);
  engine::Sampler sampler(model->config().vocab, record.sampling);
  GenerationOptions options;
  options.max_tokens = record.max_tokens;
  options.stop = record.stop;
  options.mode = record.mode;
  if (record.restored_state && record.session.precision == engine::Precision::kFast)
    std::fprintf(stderr,
                 "dsv4: note: the recorded run continued a saved state; with --precision fast "
                 "prefilling from the start may change the last bits of the logits\n");
  GenerationResult again;
  {
    auto session =
        runtime.run([&] { return std::make_unique<engine::Session>(*model, record.session); });
    again = generate(runtime, *session, tokenizer, sampler, record.prompt_tokens, options);
    runtime.run([&] { session.reset(); });
  }

  const std::vector<int32_t>& want = record.generated;
  const std::vector<int32_t>& got = again.tokens;
  size_t same = 0;
  while (same < want.size() && same < got.size() && want[same] == got[same]) ++same;
  const std::string setup = "model " + hash + ", target " + simd::active_target() + ", precision " +
                            (record.session.precision == engine::Precision::kRef ? "ref" : "fast");
  if (same == want.size() && same == got.size()) {
    std::printf("identical: %zu generated tokens match (%s)\n", same, setup.c_str());
    return 0;
  }
  if (same < want.size() && same < got.size()) {
    std::printf("diverged at generated token %zu of %zu: recorded %d %s, got %d %s (%s)\n", same,
                want.size(), want[same], quoted(tokenizer, want[same]).c_str(), got[same],
                quoted(tokenizer, got[same]).c_str(), setup.c_str());
  } else {
    std::printf("diverged: recorded %zu generated tokens, got %zu; the first %zu match (%s)\n",
                want.size(), got.size(), same, setup.c_str());
  }
  return 1;
}

}  // namespace dsv4::apps
