// `dsv4 logits -m M.gguf --tokens F.npy --out L.npy [--all]`: logits of a token sequence.
#include <cstdio>
#include <vector>

#include "apps/command.h"
#include "apps/common_options.h"
#include "base/error.h"
#include "base/npy.h"
#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/session.h"

namespace dsv4::apps {

int run_logits(int argc, char** argv) {
  CLI::App app{"Compute the logits of a token sequence and write them as float32 .npy", argv[0]};
  std::string model_path, tokens_path, out_path;
  bool all = false;
  ComputeOptions compute;
  compute.context = 0;
  app.add_option("-m,--model", model_path, "GGUF model")->required();
  app.add_option("--tokens", tokens_path, "token ids (.npy, integer)")->required();
  app.add_option("--out", out_path, "output .npy: [T, vocab] with --all, else [1, vocab]")
      ->required();
  app.add_flag("--all", all, "logits of every position, not only the last");
  compute.add_to(app);
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;
  compute.pin_target();

  const std::vector<int32_t> tokens = read_npy_tokens(tokens_path);
  if (tokens.empty()) fail(tokens_path, ": no tokens");
  const auto model = engine::Model::load(model_path, compute.weight_memory());
  engine::SessionOptions options = compute.session_options();
  if (options.context == 0) options.context = static_cast<int64_t>(tokens.size());
  engine::Runtime runtime(compute.threads);
  const int64_t vocab = model->config().vocab;
  std::vector<float> logits(all ? tokens.size() * static_cast<size_t>(vocab)
                                : static_cast<size_t>(vocab));
  runtime.run([&] {
    engine::Session session(*model, options);
    if (all) {
      session.evaluate(tokens, logits.data());
    } else {
      session.evaluate(tokens);
      std::copy(session.last_logits().begin(), session.last_logits().end(), logits.begin());
    }
  });
  write_npy_f32(out_path, logits.data(), all ? static_cast<int64_t>(tokens.size()) : 1, vocab);
  return 0;
}

}  // namespace dsv4::apps
