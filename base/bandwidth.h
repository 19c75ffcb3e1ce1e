// Measured memory read bandwidth of this machine, for reporting throughput next to it.
#pragma once

#include <cstddef>

namespace dsv4 {

// Bytes per second of a streaming read (sum of 64-bit words) over a buffer much larger than
// the caches, by `threads` threads; the median of `repeats` passes.
double measure_read_bandwidth(int threads, size_t buffer_bytes = size_t{1} << 30, int repeats = 5);

}  // namespace dsv4
