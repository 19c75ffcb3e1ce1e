#include "simd/thread_scratch.h"

#include <algorithm>

#include "hwy/aligned_allocator.h"

namespace dsv4::simd {
namespace {

// 8 decoded rows of 16K columns: every DeepSeek V4 matrix that needs decoding is narrower.
constexpr size_t kReservedFloats = size_t{8} << 14;

}  // namespace

float* decode_panel(size_t floats) {
  thread_local hwy::AlignedFreeUniquePtr<float[]> buffer;
  thread_local size_t capacity = 0;
  if (floats > capacity) {
    capacity = std::max(floats, kReservedFloats);
    buffer = hwy::AllocateAligned<float>(capacity);
  }
  return buffer.get();
}

void reserve_thread_scratch() {
  decode_panel(kReservedFloats);
}

}  // namespace dsv4::simd
