// Picks the next token from a row of logits (MODEL.md §8): greedy at temperature 0, otherwise
// a draw from the temperature-scaled softmax after top-k, top-p and min-p filtering, driven by
// a seeded generator. Sampling is sequential and depends only on the seed and the logits, so a
// run repeats exactly whatever the thread count.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace dsv4::engine {

struct SamplerOptions {
  float temperature = 1.0f;  // <= 0: greedy (the first maximum)
  int32_t top_k = 0;         // keep the k most likely tokens; <= 0: off
  float top_p = 1.0f;        // keep the smallest most-likely prefix with this mass; >= 1: off
  float min_p = 0.05f;       // drop tokens less likely than min_p × the top token's probability
  uint64_t seed = 1;
  // Log-probabilities (of the model's own distribution, temperature 1) of the chosen token
  // and of the `top_logprobs` most likely ones.
  bool logprobs = false;
  int32_t top_logprobs = 0;
};

// xorshift64* (Vigna): tiny, fast, and the same stream on every machine.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();  // in [0, 1), 53 random bits

 private:
  uint64_t state_;
};

struct TokenLogprob {
  int32_t token;
  float logprob;
};

struct SampledToken {
  int32_t token;
  float logprob;                      // NaN unless SamplerOptions::logprobs
  std::span<const TokenLogprob> top;  // most likely first; valid until the next sample()
};

// A token the filters kept and its probability in the distribution sample() draws from.
struct Candidate {
  int32_t token;
  double probability;
};

class Sampler {
 public:
  // Throws dsv4::Error for a temperature, top-p or min-p that is not a number.
  Sampler(int64_t vocab, const SamplerOptions& options);

  // `logits` holds one value per vocabulary entry; non-finite values are never chosen.
  // Allocates nothing after the first call.
  SampledToken sample(std::span<const float> logits);

  // The distribution sample() draws from for `logits`: the kept tokens with probabilities
  // summing to 1, in the order the draw walks them. Valid until the next call.
  std::span<const Candidate> distribution(std::span<const float> logits);

  const SamplerOptions& options() const { return options_; }

 private:
  void filter(std::span<const float> logits);
  void compute_logprobs(std::span<const float> logits, int32_t chosen, SampledToken& out);

  SamplerOptions options_;
  int64_t vocab_;
  Rng rng_;
  std::vector<Candidate> candidates_;  // weights exp((l - max)/T) until normalised
  double kept_weight_ = 0;
  std::vector<int32_t> ids_;
  std::vector<TokenLogprob> top_;
};

}  // namespace dsv4::engine
