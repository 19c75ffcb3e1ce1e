// Per-thread scratch of the matrix kernels. Each thread's buffer is allocated on its first
// use; reserve_thread_scratch() lets a thread pool allocate it when a thread joins, so that
// a worker meeting a kernel for the first time in the middle of decoding does not allocate.
#pragma once

#include <cstddef>

namespace dsv4::simd {

// At least `floats` aligned floats, owned by the calling thread, valid until its next call.
float* decode_panel(size_t floats);

// Allocates the calling thread's scratch at the size every DeepSeek V4 matrix fits.
void reserve_thread_scratch();

}  // namespace dsv4::simd
