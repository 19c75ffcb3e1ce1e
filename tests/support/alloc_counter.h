// Counts heap allocations (malloc, calloc, realloc, aligned allocations and therefore C++
// new) made by any thread while counting is on. Linked only into the test that checks the
// decode loop, where it replaces the C library's allocation entry points.
#pragma once

#include <cstdint>

namespace dsv4::testing {

void start_counting_allocations();
// Stops counting and returns the number of allocations since start.
uint64_t stop_counting_allocations();

}  // namespace dsv4::testing
