// Golden test at DeepSeek V4 Flash's real layer dimensions (../shared/testdata/flash3): the
// checkpoint is regenerated bit-identically by its flash_shape.py, converted losslessly and
// evaluated with --precision ref. Slow (several minutes); CI runs it.
#include <doctest/doctest.h>

#include <filesystem>

#include "base/npy.h"
#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/session.h"
#include "tests/support/logit_stats.h"
#include "tests/support/process.h"
#include "tests/support/testdata.h"

using namespace dsv4;

TEST_CASE("flash3: argmax >= 99% and max |d| <= 0.1 at the 324 reference positions") {
  const auto dir = testing::require_testdata("flash3");
  if (!dir) return;
  namespace fs = std::filesystem;
  const std::string checkpoint = testing::scratch_dir() + "/flash3-checkpoint";
  const std::string gguf = testing::scratch_dir() + "/flash3-mxfp4-bf16.gguf";
  if (!fs::exists(checkpoint + "/model.safetensors.index.json")) {
    const auto r =
        testing::run_process({"/usr/bin/python3", *dir + "/flash_shape.py", "write", checkpoint});
    REQUIRE_MESSAGE(r.status == 0, r.err);
  }
  if (!fs::exists(gguf) ||
      fs::last_write_time(gguf) < fs::last_write_time(testing::dsv4_binary())) {
    const auto r = testing::run_process({testing::dsv4_binary(), "convert", checkpoint, gguf,
                                         "--experts", "mxfp4", "--dense", "bf16"});
    REQUIRE_MESSAGE(r.status == 0, r.err);
  }
  const std::vector<int32_t> tokens = read_npy_tokens(*dir + "/prompt_tokens.npy");
  const std::vector<int32_t> positions = read_npy_tokens(*dir + "/positions.npy");
  const NpyArray reference = read_npy(*dir + "/logits_at_positions.npy");
  const auto model = engine::Model::load(gguf);
  const int64_t vocab = model->config().vocab;
  REQUIRE(reference.shape == std::vector<int64_t>{static_cast<int64_t>(positions.size()), vocab});

  std::vector<float> logits(tokens.size() * static_cast<size_t>(vocab));
  engine::SessionOptions options;
  options.context = static_cast<int64_t>(tokens.size());
  options.chunk = 256;
  options.precision = engine::Precision::kRef;
  engine::Runtime runtime(0);
  runtime.run([&] {
    engine::Session session(*model, options);
    session.evaluate(tokens, logits.data());
  });
  std::vector<float> selected(positions.size() * static_cast<size_t>(vocab));
  for (size_t i = 0; i < positions.size(); ++i)
    std::copy_n(logits.data() + static_cast<size_t>(positions[i]) * vocab, vocab,
                selected.data() + i * vocab);
  const auto s =
      testing::compare_logits(reinterpret_cast<const float*>(reference.data.data()),
                              selected.data(), static_cast<int64_t>(positions.size()), vocab);
  MESSAGE("flash3 ref vs official: argmax ", s.argmax_agreement, ", max |d| ", s.max_abs_diff,
          ", mean KL ", s.mean_kl);
  CHECK(s.argmax_agreement >= 0.99);
  CHECK(s.max_abs_diff <= 0.1);
}
