#include "tests/support/synth_model.h"

#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>

#include "tests/support/process.h"
#include "tests/support/testdata.h"

namespace dsv4::testing {

std::string synthetic_model(int vocab) {
  namespace fs = std::filesystem;
  const std::string path = scratch_dir() + "/synth-tiny-v" + std::to_string(vocab) + ".gguf";
  // Remade when the binary is newer; written under a private name, then renamed, so test
  // processes running in parallel never read a half-written file.
  if (!fs::exists(path) || fs::last_write_time(path) < fs::last_write_time(dsv4_binary())) {
    const std::string temp = path + ".tmp." + std::to_string(getpid());
    const ProcessResult r =
        run_process({dsv4_binary(), "synth", temp, "--vocab", std::to_string(vocab)});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    fs::rename(temp, path);
  }
  return path;
}

}  // namespace dsv4::testing
