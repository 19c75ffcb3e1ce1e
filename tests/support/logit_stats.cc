#include "tests/support/logit_stats.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace dsv4::testing {

LogitStats compare_logits(const float* reference, const float* logits, int64_t rows,
                          int64_t vocab) {
  LogitStats s;
  int64_t agree = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = reference + r * vocab;
    const float* b = logits + r * vocab;
    agree += std::max_element(a, a + vocab) - a == std::max_element(b, b + vocab) - b;
    double ma = a[0], mb = b[0];
    for (int64_t i = 0; i < vocab; ++i) {
      s.max_abs_diff = std::max(s.max_abs_diff, std::fabs(static_cast<double>(a[i]) - b[i]));
      ma = std::max(ma, static_cast<double>(a[i]));
      mb = std::max(mb, static_cast<double>(b[i]));
    }
    double za = 0, zb = 0;
    for (int64_t i = 0; i < vocab; ++i) {
      za += std::exp(a[i] - ma);
      zb += std::exp(b[i] - mb);
    }
    double kl = 0;
    for (int64_t i = 0; i < vocab; ++i) {
      const double la = a[i] - ma - std::log(za), lb = b[i] - mb - std::log(zb);
      kl += std::exp(la) * (la - lb);
    }
    s.mean_kl += kl;
  }
  s.argmax_agreement = static_cast<double>(agree) / static_cast<double>(rows);
  s.mean_kl /= static_cast<double>(rows);
  return s;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
  return worst;
}

}  // namespace dsv4::testing
