// Reproducibility from the command line: `dsv4 run --json` records what determines its
// output, `dsv4 verify` runs it again, and sampled generations do not depend on the thread
// count or on pinning the SIMD target the best one would have been.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "simd/targets.h"
#include "tests/support/process.h"
#include "tests/support/synth_model.h"
#include "tests/support/testdata.h"

using dsv4::testing::dsv4_binary;
using dsv4::testing::ProcessResult;
using dsv4::testing::run_process;
using nlohmann::json;

namespace {

// A seeded, sampled (not greedy) generation of 64 tokens.
json sampled_run(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {dsv4_binary(), "run",
                                   "-m",          dsv4::testing::synthetic_model(),
                                   "-p",          "Count the birds.",
                                   "-n",          "64",
                                   "--seed",      "42",
                                   "--temp",      "0.9",
                                   "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const ProcessResult r = run_process(args);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  return json::parse(r.out);
}

std::string write_result(const json& result, const std::string& name) {
  const std::string path = dsv4::testing::scratch_dir() + "/" + name;
  std::ofstream(path) << result.dump();
  return path;
}

ProcessResult verify(const std::string& path, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {dsv4_binary(), "verify", path};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_process(args);
}

}  // namespace

TEST_CASE("a seeded sampled generation is identical for 1 and 2 threads") {
  const json one = sampled_run({"--threads", "1"});
  const json two = sampled_run({"--threads", "2"});
  CHECK(one["tokens"].size() == 64);
  CHECK(one["tokens"] == two["tokens"]);
  CHECK(one["text"] == two["text"]);
}

TEST_CASE("run --json records what determines the result") {
  const json result = sampled_run({});
  const json& r = result["reproduce"];
  CHECK(r["model_hash"].get<std::string>().starts_with("xxh64:"));
  CHECK(r["model_hash"].get<std::string>().size() == 22);
  CHECK(r["target"] == dsv4::simd::active_target());
  CHECK(r["seed"] == 42);
  CHECK(r["precision"] == "fast");
  CHECK(r["generated_token_ids"] == result["tokens"]);
  CHECK(!r["prompt_token_ids"].empty());
}

TEST_CASE("verify reports identical for a recorded run and the first divergence otherwise") {
  json result = sampled_run({});
  const std::string good = write_result(result, "verify-good.json");
  const ProcessResult same = verify(good, {"--threads", "1"});
  CHECK_MESSAGE(same.status == 0, same.err);
  CHECK(same.out.starts_with("identical: 64 generated tokens match"));

  json changed = result;
  auto& ids = changed["reproduce"]["generated_token_ids"];
  ids[10] = (ids[10].get<int>() + 1) % 512;
  const ProcessResult diverged = verify(write_result(changed, "verify-changed.json"));
  CHECK(diverged.status == 1);
  CHECK(diverged.out.starts_with("diverged at generated token 10 of 64"));

  json other_model = result;
  other_model["reproduce"]["model_hash"] = "xxh64:0000000000000000";
  const ProcessResult refused = verify(write_result(other_model, "verify-hash.json"));
  CHECK(refused.status == 1);
  CHECK(refused.err.find("content hash") != std::string::npos);

  json no_target = result;
  no_target["reproduce"]["target"] = "NO_SUCH_TARGET";
  const ProcessResult unknown = verify(write_result(no_target, "verify-target.json"));
  CHECK(unknown.status == 2);
  CHECK(unknown.err.find("NO_SUCH_TARGET") != std::string::npos);

  json truncated = result;
  truncated["reproduce"].erase("seed");
  const ProcessResult missing = verify(write_result(truncated, "verify-missing.json"));
  CHECK(missing.status == 1);
  CHECK(missing.err.find("\"seed\"") != std::string::npos);
}

TEST_CASE("a run pinned to AVX2 reproduces the bytes of a run whose best target is AVX2") {
  const auto targets = dsv4::simd::available_targets();
  if (std::find(targets.begin(), targets.end(), "AVX2") == targets.end()) {
    MESSAGE("skipped: this CPU cannot run the AVX2 target");
    return;
  }
  // DSV4_TARGET restricts dispatch exactly as a CPU whose best target is AVX2 would: the
  // same compiled code runs, so the recorded result must verify under the same pin.
  const json pinned = sampled_run({"--target", "AVX2"});
  CHECK(pinned["reproduce"]["target"] == "AVX2");
  const ProcessResult again = verify(write_result(pinned, "verify-avx2.json"));
  CHECK_MESSAGE(again.status == 0, again.err);
  CHECK(again.out.find("target AVX2") != std::string::npos);
}
