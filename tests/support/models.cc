#include "tests/support/models.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "tests/support/process.h"
#include "tests/support/testdata.h"

namespace dsv4::testing {

std::optional<std::string> converted_tiny_a(const std::string& experts, const std::string& dense) {
  const auto dir = require_testdata("tiny-a");
  if (!dir) return std::nullopt;
  const std::string path = scratch_dir() + "/tiny-a-" + experts + "-" + dense + ".gguf";
  // Reconvert when the binary is newer than the file, so converter changes are picked up.
  namespace fs = std::filesystem;
  if (!fs::exists(path) || fs::last_write_time(path) < fs::last_write_time(dsv4_binary())) {
    const ProcessResult r =
        run_process({dsv4_binary(), "convert", *dir, path, "--experts", experts, "--dense", dense});
    REQUIRE_MESSAGE(r.status == 0, r.err);
  }
  return path;
}

}  // namespace dsv4::testing
