// Data-parallel helpers on oneTBB. Work is split by rows; every row is computed by exactly
// one task with the same arithmetic whatever the split, so results do not depend on the
// number of threads or on scheduling. Templates (not std::function) so that dispatching
// work never allocates.
#pragma once

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstdint>

#include "simd/matmul.h"

namespace dsv4::engine {

// Calls body(begin, end) over [0, n) in pieces of at least `grain`.
template <class Body>
void parallel_ranges(int64_t n, int64_t grain, const Body& body) {
  if (n <= 0) return;
  if (n <= grain) {
    body(int64_t{0}, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain),
                    [&body](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); });
}

// body(t) for every token t < n, tokens split across tasks. For per-token work whose result
// depends only on the token, so the split never changes a bit.
template <class Body>
void for_each_token(int64_t n, const Body& body) {
  parallel_ranges(n, 2, [&body](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) body(t);
  });
}

// simd::matmul over all rows of `w`, rows split across tasks.
void parallel_matmul(const simd::MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens,
                     float* y, int64_t y_stride);

}  // namespace dsv4::engine
