// Session file sizes for DeepSeek V4 Flash layer shapes, on a four-layer random model with
// the Flash preset (one window-only pair, one ratio-4 and one ratio-128 layer; about 1 GB,
// half a minute to make): bytes per token against the KV formula.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "engine/model.h"
#include "tests/session_helpers.h"
#include "tests/support/process.h"
#include "tests/support/testdata.h"

using namespace dsv4;

TEST_CASE("snapshot bytes per token of a Flash-shaped model follow the KV formula") {
  namespace fs = std::filesystem;
  const std::string path = testing::scratch_dir() + "/synth-flash-4-layers.gguf";
  if (!fs::exists(path) ||
      fs::last_write_time(path) < fs::last_write_time(testing::dsv4_binary())) {
    const testing::ProcessResult r =
        testing::run_process({testing::dsv4_binary(), "synth", path, "--preset", "flash",
                              "--layers", "4", "--experts", "8", "--vocab", "4096"});
    REQUIRE_MESSAGE(r.status == 0, r.err);
  }
  const auto model = engine::Model::load(path);
  testing::check_bytes_per_token("Flash shapes, 4 layers", model->config(), &path);
}
