#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "base/splitmix.h"
#include "simd/ops.h"

namespace dsv4::engine {
Rng::Rng(uint64_t seed) : state_(splitmix64(seed)) {
  if (state_ == 0) state_ = 0x9e3779b97f4a7c15ull;  // xorshift never leaves 0
}

uint64_t Rng::next() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return state_ * 0x2545f4914f6cdd1dull;
}

double Rng::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

Sampler::Sampler(int64_t vocab, const SamplerOptions& options)
    : options_(options), vocab_(vocab), rng_(options.seed) {
  if (std::isnan(options_.temperature) || std::isnan(options_.top_p) || std::isnan(options_.min_p))
    fail("sampler: temperature, top-p and min-p must be numbers");
  if (!(options_.top_p > 0 && options_.top_p < 1)) options_.top_p = 1;
  options_.min_p = std::clamp(options_.min_p, 0.0f, 1.0f);
  options_.top_k = static_cast<int32_t>(std::clamp<int64_t>(options_.top_k, 0, vocab));
  options_.top_logprobs =
      options_.logprobs ? static_cast<int32_t>(std::clamp<int64_t>(options_.top_logprobs, 0, vocab))
                        : 0;
  candidates_.reserve(static_cast<size_t>(vocab));
  ids_.reserve(static_cast<size_t>(vocab));
  top_.reserve(static_cast<size_t>(options_.top_logprobs));
}

void Sampler::filter(std::span<const float> logits) {
  if (static_cast<int64_t>(logits.size()) != vocab_)
    fail("sampler: ", logits.size(), " logits for a vocabulary of ", vocab_);
  candidates_.clear();
  int32_t best = -1;
  for (int32_t i = 0; i < static_cast<int32_t>(vocab_); ++i)
    if (std::isfinite(logits[i]) && (best < 0 || logits[i] > logits[best])) best = i;
  if (best < 0) fail("sampler: no finite logit");
  if (options_.temperature <= 0) {
    candidates_.push_back({best, 1.0});
    kept_weight_ = 1;
    return;
  }

  // Weights exp((l - max)/T): the top token weighs 1, so min-p compares weights with min_p.
  const double max = logits[best];
  const double inv_t = 1.0 / options_.temperature;
  const double min_p = options_.min_p;
  const bool top_p = options_.top_p < 1;
  double total = 0;  // the mass top-p takes its share of
  auto consider = [&](int32_t id) {
    const double x = (logits[id] - max) * inv_t;
    const double w = std::exp(x);
    total += w;
    if (w >= min_p) candidates_.push_back({id, w});
  };
  if (options_.top_k > 0) {
    simd::top_k(logits.data(), vocab_, options_.top_k, ids_);
    for (int32_t id : ids_)
      if (std::isfinite(logits[id])) consider(id);
  } else {
    // Without top-p the total is not needed, so tokens clearly under the min-p cut (by a
    // margin far above rounding) skip the exponential.
    const double skip_below =
        top_p || min_p == 0 ? -std::numeric_limits<double>::infinity() : std::log(min_p) - 1e-3;
    for (int32_t i = 0; i < static_cast<int32_t>(vocab_); ++i) {
      if (!std::isfinite(logits[i])) continue;
      if ((logits[i] - max) * inv_t < skip_below) continue;
      consider(i);
    }
    if (top_p)
      std::sort(candidates_.begin(), candidates_.end(),
                [&logits](const Candidate& a, const Candidate& b) {
                  return logits[a.token] > logits[b.token] ||
                         (logits[a.token] == logits[b.token] && a.token < b.token);
                });
  }
  if (top_p) {
    // Min-p dropped a tail of this order, so the prefix reaching the mass is unchanged.
    const double mass = options_.top_p * total;
    double cumulative = 0;
    for (size_t k = 0; k < candidates_.size(); ++k) {
      cumulative += candidates_[k].probability;
      if (cumulative >= mass) {
        candidates_.resize(k + 1);
        break;
      }
    }
  }
  kept_weight_ = 0;
  for (const Candidate& c : candidates_) kept_weight_ += c.probability;
}

std::span<const Candidate> Sampler::distribution(std::span<const float> logits) {
  filter(logits);
  for (Candidate& c : candidates_) c.probability /= kept_weight_;
  return candidates_;
}

SampledToken Sampler::sample(std::span<const float> logits) {
  filter(logits);
  int32_t chosen = candidates_.back().token;  // if rounding leaves r past the last weight
  if (options_.temperature > 0) {
    const double r = rng_.uniform() * kept_weight_;
    double cumulative = 0;
    for (const Candidate& c : candidates_) {
      cumulative += c.probability;
      if (r < cumulative) {
        chosen = c.token;
        break;
      }
    }
  } else {
    chosen = candidates_.front().token;
  }
  SampledToken out{chosen, std::numeric_limits<float>::quiet_NaN(), {}};
  if (options_.logprobs) compute_logprobs(logits, chosen, out);
  return out;
}

void Sampler::compute_logprobs(std::span<const float> logits, int32_t chosen, SampledToken& out) {
  double max = -std::numeric_limits<double>::infinity();
  for (float l : logits)
    if (std::isfinite(l)) max = std::max(max, static_cast<double>(l));
  double sum = 0;
  for (float l : logits)
    if (std::isfinite(l)) sum += std::exp(l - max);
  const double log_z = max + std::log(sum);
  out.logprob = static_cast<float>(logits[chosen] - log_z);
  top_.clear();
  if (options_.top_logprobs > 0) {
    simd::top_k(logits.data(), vocab_, options_.top_logprobs, ids_);
    for (int32_t id : ids_) top_.push_back({id, static_cast<float>(logits[id] - log_z)});
  }
  out.top = top_;
}

}  // namespace dsv4::engine
