#include "base/system.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace dsv4 {
namespace {

uint64_t meminfo_field(const char* path, const std::string& field) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) {
      std::istringstream fields(line.substr(field.size()));
      uint64_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

}  // namespace

int physical_core_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  // The hardware threads of one core share one thread_siblings_list, which names the core on
  // every architecture; (physical_package_id, core_id) does not, as core_id is only unique
  // within a cluster on some Arm systems.
  std::set<std::string> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    std::ifstream siblings("/sys/devices/system/cpu/cpu" + std::to_string(cpu) +
                           "/topology/thread_siblings_list");
    std::string list;
    // Without topology (some containers), every logical CPU counts.
    if (!(siblings >> list)) return CPU_COUNT(&set);
    cores.insert(list);
  }
  return cores.empty() ? 1 : static_cast<int>(cores.size());
}

uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

uint64_t current_rss_bytes() {
  return meminfo_field("/proc/self/status", "VmRSS:");
}

uint64_t available_memory_bytes() {
  return meminfo_field("/proc/meminfo", "MemAvailable:");
}

}  // namespace dsv4
