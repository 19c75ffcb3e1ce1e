// The `dsv4` command contract: help, version, unknown commands, exit codes, one-line errors.
#include <doctest/doctest.h>

#include <fstream>

#include "tests/support/gguf_builder.h"
#include "tests/support/process.h"
#include "tests/support/testdata.h"

using dsv4::testing::dsv4_binary;
using dsv4::testing::run_process;

namespace {

const char* const kSubcommands[] = {"run",     "chat",     "serve",  "bench", "convert", "synth",
                                    "inspect", "tokenize", "render", "parse", "logits"};

size_t line_count(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("dsv4 --help lists every subcommand of the contract") {
  const auto r = run_process({dsv4_binary(), "--help"});
  CHECK(r.status == 0);
  for (const std::string name : kSubcommands) {
    CAPTURE(name);
    CHECK(r.out.find(std::string("  ") + name + " ") != std::string::npos);
  }
}

TEST_CASE("dsv4 --version") {
  const auto r = run_process({dsv4_binary(), "--version"});
  CHECK(r.status == 0);
  CHECK(r.out.rfind("dsv4 ", 0) == 0);
}

TEST_CASE("every subcommand has --help") {
  for (const std::string name : kSubcommands) {
    CAPTURE(name);
    const auto r = run_process({dsv4_binary(), name, "--help"});
    if (r.status == 2) {
      CHECK(r.err.find("not implemented") != std::string::npos);
    } else {
      CHECK(r.status == 0);
      CHECK(r.out.find("Usage") != std::string::npos);
    }
  }
}

TEST_CASE("unknown command and bad flags are usage errors (exit 2 - one line)") {
  auto r = run_process({dsv4_binary(), "frobnicate"});
  CHECK(r.status == 2);
  CHECK(r.err.rfind("dsv4: error: ", 0) == 0);
  CHECK(line_count(r.err) == 1);
  r = run_process({dsv4_binary(), "inspect", "--bogus-flag", "x.gguf"});
  CHECK(r.status == 2);
  CHECK(r.err.rfind("dsv4: error: ", 0) == 0);
  CHECK(line_count(r.err) == 1);
}

TEST_CASE("defective GGUF files: exit 1 and one line naming the defect") {
  using dsv4::testing::GgufBuilder;
  struct Case {
    const char* name;
    GgufBuilder file;
    const char* expected;
  };
  std::vector<Case> cases;
  auto valid = [] {
    GgufBuilder b;
    b.header(3, 1, 1).kv_u32("k", 1).tensor("t", {8}, 0, 0).align().data(32);
    return b;
  };
  {
    auto b = valid();
    b.bytes[1] = 0;
    cases.push_back({"magic", b, "bad magic"});
  }
  {
    auto b = valid();
    b.bytes[4] = 99;
    cases.push_back({"version", b, "unsupported GGUF version 99"});
  }
  {
    GgufBuilder b;
    b.header(3, 1, 0).tensor("t", {8}, 0, 0).align().data(32);
    b.bytes.resize(b.bytes.size() - 5);
    cases.push_back({"truncated", b, "extends past the end"});
  }
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    const std::string path = dsv4::testing::scratch_dir() + "/defect-" + c.name + ".gguf";
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(c.file.bytes.data()),
               static_cast<std::streamsize>(c.file.bytes.size()));
    const auto r = run_process({dsv4_binary(), "inspect", path});
    CHECK(r.status == 1);
    CHECK(r.err.rfind("dsv4: error: " + path + ": ", 0) == 0);
    CHECK(r.err.find(c.expected) != std::string::npos);
    CHECK(line_count(r.err) == 1);
  }
  const auto r = run_process({dsv4_binary(), "inspect", "/nonexistent/model.gguf"});
  CHECK(r.status == 1);
  CHECK(r.err.find("cannot open") != std::string::npos);
}
