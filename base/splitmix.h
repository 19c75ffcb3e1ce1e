// splitmix64's finaliser: a strong 64-bit mix used to derive unrelated streams from nearby
// seeds and counters (sampler seeds, synthetic weights).
#pragma once

#include <cstdint>

namespace dsv4 {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace dsv4
