// Facts about the machine and this process: core counts, memory, resident set size.
#pragma once

#include <cstdint>

namespace dsv4 {

// Physical cores available to this process (hyper-threads of one core count once).
int physical_core_count();
// Peak resident set size of this process so far, in bytes.
uint64_t peak_rss_bytes();
// Current resident set size, in bytes.
uint64_t current_rss_bytes();
// Memory the system could give this process now (MemAvailable), in bytes; 0 if unknown.
uint64_t available_memory_bytes();

}  // namespace dsv4
