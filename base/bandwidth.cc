#include "base/bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace dsv4 {
namespace {

uint64_t sum_words(const uint64_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i + 4 <= n; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  return s0 + s1 + s2 + s3;
}

}  // namespace

double measure_read_bandwidth(int threads, size_t buffer_bytes, int repeats) {
  threads = std::max(1, threads);
  const size_t words = buffer_bytes / 8;
  std::unique_ptr<uint64_t[]> buffer(new uint64_t[words]);
  std::memset(buffer.get(), 1, words * 8);  // touch every page before timing
  std::vector<double> rates;
  std::vector<uint64_t> sinks(static_cast<size_t>(threads));
  for (int rep = 0; rep < repeats; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] {
        const size_t chunk = words / static_cast<size_t>(threads);
        sinks[static_cast<size_t>(t)] =
            sum_words(buffer.get() + chunk * static_cast<size_t>(t), chunk);
      });
    for (auto& w : workers) w.join();
    rates.push_back(
        static_cast<double>(words * 8) /
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  // Keep the sums observable so the reads are not optimised away.
  volatile uint64_t sink = 0;
  for (uint64_t s : sinks) sink = sink + s;
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace dsv4
