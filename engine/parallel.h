// Data-parallel helpers on oneTBB. Work is split by rows; every row is computed by exactly
// one task with the same arithmetic whatever the split, so results do not depend on the
// number of threads or on scheduling.
#pragma once

#include <cstdint>
#include <functional>

#include "simd/matmul.h"

namespace dsv4::engine {

// Calls body(begin, end) over [0, n) in pieces of at least `grain`.
void parallel_ranges(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

// simd::matmul over all rows of `w`, rows split across tasks.
void parallel_matmul(const simd::MatrixView& w, const float* x, int64_t x_stride, int64_t n_tokens,
                     float* y, int64_t y_stride);

}  // namespace dsv4::engine
