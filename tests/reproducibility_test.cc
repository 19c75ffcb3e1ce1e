// Results must not move with the thread count, across runs, or (in ref precision) with the
// prefill chunk size: every reduction has a fixed order independent of scheduling.
#include <doctest/doctest.h>

#include <cstring>

#include "base/npy.h"
#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/session.h"
#include "tests/support/models.h"
#include "tests/support/testdata.h"

using namespace dsv4;
using engine::Precision;

namespace {

// Prefill of the whole prompt (chunked) followed by 16 single-token decode steps, whose
// logits are appended: both code paths are covered.
std::vector<float> run(const engine::Model& model, const std::vector<int32_t>& tokens,
                       Precision precision, int threads, int64_t chunk) {
  engine::SessionOptions options;
  options.context = static_cast<int64_t>(tokens.size()) + 16;
  options.chunk = chunk;
  options.precision = precision;
  engine::Runtime runtime(threads);
  const size_t vocab = static_cast<size_t>(model.config().vocab);
  std::vector<float> logits((tokens.size() + 16) * vocab);
  runtime.run([&] {
    engine::Session session(model, options);
    session.evaluate(tokens, logits.data());
    for (size_t i = 0; i < 16; ++i) {
      const int32_t next = tokens[i * 37 % tokens.size()];
      session.evaluate(std::span<const int32_t>(&next, 1));
      std::copy(session.last_logits().begin(), session.last_logits().end(),
                logits.begin() + static_cast<long>((tokens.size() + i) * vocab));
    }
  });
  return logits;
}

bool identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("logits are bit-identical with the weights in huge pages or in the file mapping") {
  const auto dir = testing::require_testdata("tiny-a");
  const auto path = testing::converted_tiny_a("mxfp4", "q8_0");
  if (!dir || !path) return;
  const std::vector<int32_t> tokens = read_npy_tokens(*dir + "/prompt_tokens.npy");
  const auto copied = engine::Model::load(*path, engine::WeightMemory::kHugePages);
  const auto mapped = engine::Model::load(*path, engine::WeightMemory::kFileMapping);
  MESSAGE(copied->weight_memory_note());
  CHECK(mapped->weight_memory_note().find("file mapping") != std::string::npos);
  for (Precision precision : {Precision::kRef, Precision::kFast}) {
    CAPTURE(static_cast<int>(precision));
    CHECK(
        identical(run(*copied, tokens, precision, 2, 64), run(*mapped, tokens, precision, 2, 64)));
  }
}

TEST_CASE("logits are bit-identical for 1 2 3 and 8 threads and across 5 runs") {
  const auto dir = testing::require_testdata("tiny-a");
  const auto path = testing::converted_tiny_a("mxfp4", "q8_0");
  if (!dir || !path) return;
  const std::vector<int32_t> tokens = read_npy_tokens(*dir + "/prompt_tokens.npy");
  const auto model = engine::Model::load(*path);
  for (Precision precision : {Precision::kRef, Precision::kFast}) {
    CAPTURE(static_cast<int>(precision));
    const auto reference = run(*model, tokens, precision, 1, 64);
    for (int threads : {2, 3, 8}) {
      CAPTURE(threads);
      CHECK(identical(reference, run(*model, tokens, precision, threads, 64)));
    }
    for (int repeat = 0; repeat < 5; ++repeat)
      CHECK(identical(reference, run(*model, tokens, precision, 2, 64)));
  }
}

TEST_CASE("ref logits are bit-identical for prefill chunks of 1 7 64 and 640") {
  const auto dir = testing::require_testdata("tiny-a");
  const auto path = testing::converted_tiny_a("mxfp4", "q8_0");
  if (!dir || !path) return;
  const std::vector<int32_t> tokens = read_npy_tokens(*dir + "/prompt_tokens.npy");
  const auto model = engine::Model::load(*path);
  const auto reference = run(*model, tokens, Precision::kRef, 2, 640);
  for (int64_t chunk : {1, 7, 64}) {
    CAPTURE(chunk);
    CHECK(identical(reference, run(*model, tokens, Precision::kRef, 2, chunk)));
  }
}
