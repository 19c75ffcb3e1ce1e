// Chunked prefill against token-by-token decode on the synthetic tiny model, over a context
// long enough to cross hundreds of ratio-4 and many ratio-128 compression boundaries, with
// the indexer selecting (more compressed rows than its top-k) for most of it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <span>
#include <vector>

#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/session.h"
#include "tests/support/logit_stats.h"
#include "tests/support/session_logits.h"
#include "tests/support/synth_model.h"

using namespace dsv4;
using engine::Precision;

namespace {

constexpr int64_t kTokens = 2600;

std::vector<int32_t> random_tokens(int vocab) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> pick(0, vocab - 1);
  std::vector<int32_t> tokens(kTokens);
  for (auto& t : tokens) t = pick(rng);
  return tokens;
}

}  // namespace

TEST_CASE("ref chunked prefill equals token-by-token decode within 1e-4") {
  const auto model = engine::Model::load(testing::synthetic_model());
  const auto tokens = random_tokens(model->config().vocab);
  const auto decoded = testing::all_logits(*model, tokens, Precision::kRef, 1);
  for (int64_t chunk : {61, 512, 2048}) {
    CAPTURE(chunk);
    const double diff =
        testing::max_abs_diff(decoded, testing::all_logits(*model, tokens, Precision::kRef, chunk));
    MESSAGE("chunk ", chunk, ": max |d| ", diff);
    CHECK(diff <= 1e-4);
  }
}

TEST_CASE("fast chunked prefill agrees with token-by-token decode within the fast bar") {
  const auto model = engine::Model::load(testing::synthetic_model());
  const auto tokens = random_tokens(model->config().vocab);
  const int64_t vocab = model->config().vocab;
  const auto decoded = testing::all_logits(*model, tokens, Precision::kFast, 1);
  for (int64_t chunk : {61, 512, 2048}) {
    CAPTURE(chunk);
    const auto chunked = testing::all_logits(*model, tokens, Precision::kFast, chunk);
    const auto s = testing::compare_logits(decoded.data(), chunked.data(), kTokens, vocab);
    MESSAGE("chunk ", chunk, ": argmax ", s.argmax_agreement, ", max |d| ", s.max_abs_diff,
            ", mean KL ", s.mean_kl);
    CHECK(s.mean_kl <= 0.005);
    CHECK(s.argmax_agreement >= 0.90);
  }
}
