// The sampler against distributions computed here independently, in double, from the
// definitions of MODEL.md §8: temperature softmax, top-k, top-p (smallest most-likely prefix
// reaching the mass), min-p (relative to the top token); then a chi-square test of the draws.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "engine/sampler.h"

using dsv4::engine::Candidate;
using dsv4::engine::Sampler;
using dsv4::engine::SamplerOptions;

namespace {

std::vector<float> random_logits(size_t n, uint32_t seed, float scale = 3.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> logits(n);
  for (float& l : logits) l = normal(gen);
  return logits;
}

// Token -> probability of the filtered distribution, by the definitions.
std::map<int32_t, double> expected_distribution(const std::vector<float>& logits,
                                                const SamplerOptions& o) {
  const double max = *std::max_element(logits.begin(), logits.end());
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  if (o.top_k > 0) order.resize(std::min<size_t>(order.size(), o.top_k));
  std::vector<double> p;
  double z = 0;
  for (int32_t id : order) {
    p.push_back(std::exp((logits[id] - max) / o.temperature));
    z += p.back();
  }
  for (double& x : p) x /= z;
  size_t keep = order.size();
  if (o.top_p < 1) {
    double cumulative = 0;
    for (size_t k = 0; k < p.size(); ++k) {
      cumulative += p[k];
      if (cumulative >= o.top_p) {
        keep = k + 1;
        break;
      }
    }
  }
  std::map<int32_t, double> out;
  double kept = 0;
  for (size_t k = 0; k < keep; ++k) {
    if (p[k] < o.min_p * p[0]) continue;
    out[order[k]] = p[k];
    kept += p[k];
  }
  for (auto& [id, q] : out) q /= kept;
  return out;
}

std::map<int32_t, double> as_map(std::span<const Candidate> candidates) {
  std::map<int32_t, double> out;
  for (const Candidate& c : candidates) out[c.token] += c.probability;
  return out;
}

void check_same_distribution(const std::map<int32_t, double>& got,
                             const std::map<int32_t, double>& want) {
  REQUIRE(got.size() == want.size());
  for (const auto& [id, q] : want) {
    CAPTURE(id);
    REQUIRE(got.count(id) == 1);
    CHECK(got.at(id) == doctest::Approx(q).epsilon(1e-9));
  }
}

// Upper 0.1% point of chi-square with `df` degrees of freedom (Wilson–Hilferty).
double chi_square_critical(int df) {
  const double z = 3.090232;  // standard normal 99.9% quantile
  const double a = 2.0 / (9.0 * df);
  return df * std::pow(1 - a + z * std::sqrt(a), 3);
}

double chi_square(const std::map<int32_t, int>& counts, const std::map<int32_t, double>& want,
                  int draws) {
  double chi2 = 0;
  for (const auto& [id, q] : want) {
    const double expected = q * draws;
    const auto it = counts.find(id);
    const double observed = it == counts.end() ? 0 : it->second;
    chi2 += (observed - expected) * (observed - expected) / expected;
  }
  return chi2;
}

}  // namespace

TEST_CASE("temperature 0 takes the first maximum and draws nothing") {
  std::vector<float> logits = {1.0f, 5.0f, -2.0f, 5.0f, 4.0f};
  Sampler sampler(5, {.temperature = 0});
  for (int k = 0; k < 3; ++k) CHECK(sampler.sample(logits).token == 1);
  logits[4] = NAN;
  logits[0] = INFINITY;  // non-finite logits are never chosen
  CHECK(sampler.sample(logits).token == 1);
}

TEST_CASE("min-p removes exactly the tokens under the threshold") {
  const auto logits = random_logits(2000, 7);
  for (float temperature : {1.0f, 0.6f, 1.7f}) {
    for (float min_p : {0.05f, 0.2f, 0.001f}) {
      CAPTURE(temperature);
      CAPTURE(min_p);
      const SamplerOptions o{.temperature = temperature, .min_p = min_p};
      Sampler sampler(static_cast<int64_t>(logits.size()), o);
      const auto got = as_map(sampler.distribution(logits));
      const double max = *std::max_element(logits.begin(), logits.end());
      size_t above = 0;
      for (size_t i = 0; i < logits.size(); ++i) {
        const bool keep = std::exp((logits[i] - max) / temperature) >= min_p;
        above += keep;
        CHECK(got.count(static_cast<int32_t>(i)) == (keep ? 1u : 0u));
      }
      CHECK(got.size() == above);
      CHECK(above < logits.size());
      check_same_distribution(got, expected_distribution(logits, o));
    }
  }
}

TEST_CASE("top-p keeps the smallest prefix reaching the mass") {
  const auto logits = random_logits(3000, 11);
  for (float top_p : {0.5f, 0.9f, 0.99f}) {
    CAPTURE(top_p);
    const SamplerOptions o{.top_p = top_p, .min_p = 0};
    Sampler sampler(static_cast<int64_t>(logits.size()), o);
    const auto got = sampler.distribution(logits);
    const auto want = expected_distribution(logits, o);
    check_same_distribution(as_map(got), want);
    // Smallest: the kept mass reaches top_p, and without the least likely kept token it
    // would not.
    const double max = *std::max_element(logits.begin(), logits.end());
    double z = 0, kept = 0, least = 1e300;
    for (float l : logits) z += std::exp(l - max);
    for (const Candidate& c : got) {
      const double p = std::exp(logits[c.token] - max) / z;
      kept += p;
      least = std::min(least, p);
    }
    CHECK(kept >= top_p);
    CHECK(kept - least < top_p);
  }
}

TEST_CASE("top-k keeps the k best") {
  const auto logits = random_logits(1000, 13);
  for (int k : {1, 5, 40}) {
    CAPTURE(k);
    const SamplerOptions o{.temperature = 0.8f, .top_k = k, .min_p = 0};
    Sampler sampler(static_cast<int64_t>(logits.size()), o);
    const auto got = as_map(sampler.distribution(logits));
    std::vector<float> sorted = logits;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    REQUIRE(got.size() == static_cast<size_t>(k));
    for (const auto& [id, q] : got) CHECK(logits[id] >= sorted[k - 1]);
    check_same_distribution(got, expected_distribution(logits, o));
  }
}

TEST_CASE("the filters combine as top-k then top-p and min-p on the same distribution") {
  const auto logits = random_logits(500, 17, 2.0f);
  const SamplerOptions o{.temperature = 0.9f, .top_k = 60, .top_p = 0.8f, .min_p = 0.1f};
  Sampler sampler(static_cast<int64_t>(logits.size()), o);
  check_same_distribution(as_map(sampler.distribution(logits)), expected_distribution(logits, o));
}

TEST_CASE("sampled frequencies pass a chi-square test against the filtered distribution") {
  const auto logits = random_logits(64, 23, 1.5f);
  const SamplerOptions o{
      .temperature = 0.9f, .top_k = 40, .top_p = 0.95f, .min_p = 0.02f, .seed = 42};
  const auto want = expected_distribution(logits, o);
  REQUIRE(want.size() >= 8);
  Sampler sampler(static_cast<int64_t>(logits.size()), o);
  constexpr int kDraws = 100000;
  std::map<int32_t, int> counts;
  for (int k = 0; k < kDraws; ++k) ++counts[sampler.sample(logits).token];
  for (const auto& [id, n] : counts) {
    CAPTURE(id);
    CHECK(want.count(id) == 1);  // nothing outside the filtered set is ever drawn
  }
  const int df = static_cast<int>(want.size()) - 1;
  const double chi2 = chi_square(counts, want, kDraws);
  CAPTURE(df);
  CHECK(chi2 < chi_square_critical(df));

  // The test has power: the unfiltered softmax is rejected by the same statistic.
  SamplerOptions unfiltered = o;
  unfiltered.top_k = 0;
  unfiltered.top_p = 1;
  unfiltered.min_p = 0;
  const auto wrong = expected_distribution(logits, unfiltered);
  CHECK(chi_square(counts, wrong, kDraws) >
        chi_square_critical(static_cast<int>(wrong.size()) - 1));
}

TEST_CASE("the same seed gives the same tokens and another seed other tokens") {
  const auto logits = random_logits(4096, 29, 1.0f);
  auto run = [&](uint64_t seed) {
    Sampler sampler(4096, {.temperature = 1.0f, .top_p = 0.95f, .seed = seed});
    std::vector<int32_t> out;
    for (int k = 0; k < 200; ++k) out.push_back(sampler.sample(logits).token);
    return out;
  };
  const std::vector<int32_t> tokens = run(5);
  CHECK(run(5) == tokens);
  CHECK(run(6) != tokens);
  CHECK(std::set<int32_t>(tokens.begin(), tokens.end()).size() > 20);
}

TEST_CASE("logprobs are the log-softmax of the logits") {
  const auto logits = random_logits(300, 31);
  Sampler sampler(300, {.temperature = 0.7f, .seed = 3, .logprobs = true, .top_logprobs = 5});
  const double max = *std::max_element(logits.begin(), logits.end());
  double z = 0;
  for (float l : logits) z += std::exp(l - max);
  auto log_softmax = [&](int32_t id) { return logits[id] - max - std::log(z); };
  for (int k = 0; k < 10; ++k) {
    const auto s = sampler.sample(logits);
    CHECK(s.logprob == doctest::Approx(log_softmax(s.token)).epsilon(1e-5));
    REQUIRE(s.top.size() == 5);
    std::vector<float> sorted = logits;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    for (size_t j = 0; j < 5; ++j) {
      CHECK(logits[s.top[j].token] == sorted[j]);
      CHECK(s.top[j].logprob == doctest::Approx(log_softmax(s.top[j].token)).epsilon(1e-5));
    }
  }
  Sampler plain(300, {.temperature = 0.7f});
  CHECK(std::isnan(plain.sample(logits).logprob));
}

TEST_CASE("the generator is uniform on the unit interval") {
  dsv4::engine::Rng rng(1);
  double sum = 0;
  int buckets[10] = {};
  constexpr int kDraws = 100000;
  for (int k = 0; k < kDraws; ++k) {
    const double u = rng.uniform();
    REQUIRE(u >= 0);
    REQUIRE(u < 1);
    sum += u;
    ++buckets[static_cast<int>(u * 10)];
  }
  CHECK(sum / kDraws == doctest::Approx(0.5).epsilon(0.01));
  double chi2 = 0;
  for (int b : buckets) chi2 += (b - kDraws / 10.0) * (b - kDraws / 10.0) / (kDraws / 10.0);
  CHECK(chi2 < chi_square_critical(9));
}
