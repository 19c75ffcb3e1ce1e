#include "tests/support/testdata.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

namespace dsv4::testing {

std::optional<std::string> testdata_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("DSV4_TESTDATA"); env != nullptr && *env != '\0') {
    if (fs::is_directory(env)) return std::string(env);
    return std::nullopt;
  }
  const fs::path candidate = fs::path(DSV4_SOURCE_DIR) / ".." / "shared" / "testdata";
  if (fs::is_directory(candidate)) return fs::canonical(candidate).string();
  return std::nullopt;
}

std::optional<std::string> require_testdata(const std::string& subdir) {
  auto dir = testdata_dir();
  std::string path;
  if (dir) path = subdir.empty() ? *dir : *dir + "/" + subdir;
  if (dir && std::filesystem::is_directory(path)) return path;
  const char* required = std::getenv("DSV4_REQUIRE_TESTDATA");
  if (required != nullptr && std::string(required) == "1") {
    FAIL("test data '", subdir, "' not found (set DSV4_TESTDATA or provide ../shared/testdata)");
  } else {
    MESSAGE("skipped: test data '", subdir, "' not found");
  }
  return std::nullopt;
}

std::string scratch_dir() {
  const std::string dir = std::string(DSV4_BINARY_DIR) + "/test-scratch";
  std::filesystem::create_directories(dir);
  return dir;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open ", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string dsv4_binary() {
  return std::string(DSV4_BINARY_DIR) + "/bin/dsv4";
}

}  // namespace dsv4::testing
