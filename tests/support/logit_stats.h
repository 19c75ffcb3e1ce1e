// Agreement statistics between logits and a reference, as ../shared/tools/compare_logits.py
// computes them: argmax agreement, max |difference|, mean KL(reference || logits) in nats.
#pragma once

#include <cstdint>
#include <vector>

namespace dsv4::testing {

struct LogitStats {
  double argmax_agreement = 0;
  double max_abs_diff = 0;
  double mean_kl = 0;
};

LogitStats compare_logits(const float* reference, const float* logits, int64_t rows, int64_t vocab);

// max |a[i] − b[i]| over two logit arrays of one size.
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace dsv4::testing
