// Kernel microbenchmarks: GEMV and GEMM per weight format at DeepSeek V4 Flash's shapes,
// next to a read-bandwidth baseline measured by the same process, so that the ratios come
// from one run. Weights rotate through a pool much larger than the last-level cache, so a
// GEMV reads from DRAM as it does in decoding.
//
//   build/bin/dsv4_bench_kernels [--benchmark_filter=...]
//   DSV4_TARGET=SSE4 build/bin/dsv4_bench_kernels   (one SIMD target; dsv4 --version lists them)
//
// Counters: GB/s of weights read, x_read = that over the measured read bandwidth with the
// same thread count, GFLOP/s.
#include <benchmark/benchmark.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "hwy/aligned_allocator.h"
#include "simd/amx.h"
#include "simd/formats.h"
#include "simd/matmul.h"
#include "simd/quantize.h"
#include "simd/targets.h"

using namespace dsv4::simd;

namespace {

constexpr size_t kPoolBytes = size_t{1536} << 20;  // ≫ any last-level cache

// Streaming reduction over the pool with `threads` threads; bytes per second (median of 5).
double measure_read_bandwidth(const uint8_t* data, size_t bytes, int threads) {
  tbb::task_arena arena(threads);
  std::vector<double> rates;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<uint64_t> partial(static_cast<size_t>(threads));
    arena.execute([&] {
      tbb::parallel_for(0, threads, [&](int t) {
        const size_t chunk = bytes / threads;
        const auto* p = reinterpret_cast<const uint64_t*>(data + chunk * t);
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = 0; i < chunk / 8; i += 4) {
          s0 += p[i];
          s1 += p[i + 1];
          s2 += p[i + 2];
          s3 += p[i + 3];
        }
        partial[static_cast<size_t>(t)] = s0 + s1 + s2 + s3;
      });
    });
    benchmark::DoNotOptimize(partial.data());
    rates.push_back(
        static_cast<double>(bytes) /
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(rates.begin(), rates.end());
  return rates[2];
}

struct Pool {
  hwy::AlignedFreeUniquePtr<uint8_t[]> data = hwy::AllocateAligned<uint8_t>(kPoolBytes);
  double read_bandwidth[3] = {};  // by thread count 1, 2

  Pool() {
    std::memset(data.get(), 1, kPoolBytes);
    for (int t = 1; t <= 2; ++t)
      read_bandwidth[t] = measure_read_bandwidth(data.get(), kPoolBytes, t);
  }
};

Pool& pool() {
  static Pool p;
  return p;
}

// Copies of one random matrix filling the pool.
struct Weights {
  std::vector<MatrixView> copies;
  size_t bytes_per_copy = 0;
};

Weights fill_pool(TensorType type, int64_t rows, int64_t cols) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  const size_t row_bytes = dsv4::simd::row_bytes(type, cols);
  Weights w;
  w.bytes_per_copy = row_bytes * static_cast<size_t>(rows);
  uint8_t* base = pool().data.get();
  std::vector<float> src(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : src) v = normal(rng);
    quantize_row(type, src.data(), cols, base + r * row_bytes);
  }
  const size_t n = std::max<size_t>(1, kPoolBytes / w.bytes_per_copy);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) std::memcpy(base + i * w.bytes_per_copy, base, w.bytes_per_copy);
    w.copies.push_back(make_matrix(type, base + i * w.bytes_per_copy, rows, cols));
  }
  return w;
}

// Google Benchmark calls a benchmark function several times while it sizes the iteration
// count; filling the pool once per shape (not once per call) keeps the whole binary under
// two minutes. The pool holds one shape at a time, so only the last one is kept.
const Weights& make_weights(TensorType type, int64_t rows, int64_t cols) {
  struct Key {
    TensorType type;
    int64_t rows, cols;
    bool operator==(const Key&) const = default;
  };
  static std::optional<Key> filled;
  static Weights weights;
  const Key key{type, rows, cols};
  if (filled != key) {
    weights = fill_pool(type, rows, cols);
    filled = key;
  }
  return weights;
}

void split_rows(int threads, int64_t rows, const std::function<void(int64_t, int64_t)>& body) {
  const int64_t grain = std::max<int64_t>(16, rows / (threads * 8));
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, grain),
                    [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); });
}

void report(benchmark::State& state, double bytes_per_iter, double flops_per_iter, int threads) {
  const double iters = static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iter * iters));
  state.counters["GB/s"] =
      benchmark::Counter(bytes_per_iter * iters / 1e9, benchmark::Counter::kIsRate);
  state.counters["x_read"] = benchmark::Counter(
      bytes_per_iter * iters / pool().read_bandwidth[threads], benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iter * iters / 1e9, benchmark::Counter::kIsRate);
}

// args: rows, cols, threads, fast (1) or ref (0) numerics
void BM_Gemv(benchmark::State& state, TensorType type) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const int threads = static_cast<int>(state.range(2));
  const bool fast = state.range(3) != 0;
  const Weights& w = make_weights(type, rows, cols);
  std::vector<float> x(static_cast<size_t>(cols), 0.5f), y(static_cast<size_t>(rows));
  std::vector<int16_t> q(static_cast<size_t>(cols));
  std::vector<float> scale(static_cast<size_t>(cols / 32));
  tbb::task_arena arena(threads);
  size_t i = 0;
  for (auto _ : state) {
    const MatrixView& m = w.copies[i++ % w.copies.size()];
    arena.execute([&] {
      if (fast) {
        quantize_input_i16(x.data(), cols, q.data(), scale.data());
        const PreparedInput in{x.data(), q.data(), scale.data(), cols};
        split_rows(threads, rows,
                   [&](int64_t r0, int64_t r1) { matvec_fast(m, in, y.data(), r0, r1); });
      } else {
        split_rows(threads, rows,
                   [&](int64_t r0, int64_t r1) { matvec(m, x.data(), y.data(), r0, r1); });
      }
    });
    benchmark::DoNotOptimize(y.data());
  }
  report(state, static_cast<double>(w.bytes_per_copy), 2.0 * rows * cols, threads);
}

// args: rows, cols, threads, tokens — the batch-invariant matmul of prefill and `ref`.
void BM_Gemm(benchmark::State& state, TensorType type) {
  const int64_t rows = state.range(0), cols = state.range(1), tokens = state.range(3);
  const int threads = static_cast<int>(state.range(2));
  const Weights& w = make_weights(type, rows, cols);
  std::vector<float> x(static_cast<size_t>(cols * tokens), 0.5f),
      y(static_cast<size_t>(rows * tokens));
  tbb::task_arena arena(threads);
  size_t i = 0;
  for (auto _ : state) {
    const MatrixView& m = w.copies[i++ % w.copies.size()];
    arena.execute([&] {
      split_rows(threads, rows, [&](int64_t r0, int64_t r1) {
        matmul(m, x.data(), cols, tokens, y.data(), rows, r0, r1);
      });
    });
    benchmark::DoNotOptimize(y.data());
  }
  report(state, static_cast<double>(w.bytes_per_copy), 2.0 * rows * cols * tokens, threads);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens * state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

// args: rows, cols, threads, tokens — the AMX path of fast prefill (skipped without AMX).
void BM_GemmAmx(benchmark::State& state, TensorType type) {
  if (!amx_available()) {
    state.SkipWithError("no AMX-BF16 on this CPU");
    return;
  }
  const int64_t rows = state.range(0), cols = state.range(1), tokens = state.range(3);
  const int threads = static_cast<int>(state.range(2));
  const Weights& w = make_weights(type, rows, cols);
  std::vector<float> x(static_cast<size_t>(cols * tokens), 0.5f),
      y(static_cast<size_t>(rows * tokens));
  AmxInput in;
  tbb::task_arena arena(threads);
  size_t i = 0;
  for (auto _ : state) {
    const MatrixView& m = w.copies[i++ % w.copies.size()];
    prepare_amx_input(x.data(), cols, tokens, cols, in);
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows / 32),
                        [&](const tbb::blocked_range<int64_t>& r) {
                          matmul_amx(m, in, y.data(), rows, r.begin() * 32, r.end() * 32);
                        });
    });
    benchmark::DoNotOptimize(y.data());
  }
  report(state, static_cast<double>(w.bytes_per_copy), 2.0 * rows * cols * tokens, threads);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens * state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

// args: threads — the tile unit's bf16 peak, the ceiling for the AMX products above. Plain
// threads, one probe each, so that every core really runs one.
void BM_AmxPeak(benchmark::State& state) {
  if (!amx_available()) {
    state.SkipWithError("no AMX-BF16 on this CPU");
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  constexpr int64_t kSteps = 1 << 16;
  double macs = 0;
  for (auto _ : state) {
    std::vector<std::thread> probes;
    std::atomic<int64_t> done{0};
    for (int t = 0; t < threads; ++t) probes.emplace_back([&] { done += amx_peak_probe(kSteps); });
    for (std::thread& p : probes) p.join();
    macs += static_cast<double>(done.load());
  }
  state.counters["GMAC/s"] = benchmark::Counter(macs / 1e9, benchmark::Counter::kIsRate);
}

void BM_ReadBandwidth(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const double rate = measure_read_bandwidth(pool().data.get(), kPoolBytes, threads);
    state.SetIterationTime(static_cast<double>(kPoolBytes) / rate);
  }
  state.SetBytesProcessed(static_cast<int64_t>(kPoolBytes) * state.iterations());
  state.counters["GB/s"] = benchmark::Counter(
      static_cast<double>(kPoolBytes) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// Flash shapes (rows = outputs, cols = inputs).
const std::vector<std::pair<int64_t, int64_t>> kAttentionShapes = {
    {1024, 4096},   // q_a
    {32768, 1024},  // q_b
    {512, 4096},    // kv
    {8192, 4096},   // output a (8 groups of 1024 rows × 4096)
    {4096, 8192},   // output b
};
const std::vector<std::pair<int64_t, int64_t>> kExpertShapes = {{2048, 4096}, {4096, 2048}};

void gemv_args(benchmark::internal::Benchmark* b,
               const std::vector<std::pair<int64_t, int64_t>>& shapes, bool with_ref) {
  for (const auto& [rows, cols] : shapes)
    for (int threads : {1, 2}) {
      b->Args({rows, cols, threads, 1});
      if (with_ref) b->Args({rows, cols, threads, 0});
    }
  b->ArgNames({"rows", "cols", "threads", "fast"})->UseRealTime()->MinTime(0.3);
}

}  // namespace

BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->UseManualTime()->Iterations(3);
BENCHMARK(BM_AmxPeak)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->MinTime(0.3);
BENCHMARK_CAPTURE(BM_Gemv, q8_0, TensorType::Q8_0)->Apply([](auto* b) {
  gemv_args(b, kAttentionShapes, false);
  gemv_args(b, kExpertShapes, true);
  b->Args({129280, 4096, 2, 1});  // output head
});
BENCHMARK_CAPTURE(BM_Gemv, mxfp4, TensorType::MXFP4)->Apply([](auto* b) {
  gemv_args(b, kExpertShapes, true);
});
BENCHMARK_CAPTURE(BM_Gemv, bf16, TensorType::BF16)->Apply([](auto* b) {
  gemv_args(b, {{1024, 4096}, {64, 4096}}, false);  // compressor kv/gate, router
});
BENCHMARK_CAPTURE(BM_Gemv, q4_k, TensorType::Q4_K)->Apply([](auto* b) {
  gemv_args(b, kExpertShapes, false);
});
BENCHMARK_CAPTURE(BM_Gemv, q2_k, TensorType::Q2_K)->Apply([](auto* b) {
  gemv_args(b, kExpertShapes, false);
});
BENCHMARK_CAPTURE(BM_Gemm, q8_0, TensorType::Q8_0)
    ->Args({2048, 4096, 2, 1})
    ->Args({2048, 4096, 2, 4})
    ->Args({2048, 4096, 2, 16})
    ->Args({2048, 4096, 2, 64})
    ->ArgNames({"rows", "cols", "threads", "tokens"})
    ->UseRealTime()
    ->MinTime(0.3);
BENCHMARK_CAPTURE(BM_Gemm, mxfp4, TensorType::MXFP4)
    ->Args({2048, 4096, 2, 1})
    ->Args({2048, 4096, 2, 4})
    ->Args({2048, 4096, 2, 16})
    ->Args({2048, 4096, 2, 64})
    ->ArgNames({"rows", "cols", "threads", "tokens"})
    ->UseRealTime()
    ->MinTime(0.3);

BENCHMARK_CAPTURE(BM_GemmAmx, q8_0, TensorType::Q8_0)
    ->Args({2048, 4096, 2, 4})
    ->Args({2048, 4096, 2, 16})
    ->Args({2048, 4096, 2, 64})
    ->Args({2048, 4096, 2, 256})
    ->Args({2048, 4096, 2, 512})
    ->ArgNames({"rows", "cols", "threads", "tokens"})
    ->UseRealTime()
    ->MinTime(0.3);
BENCHMARK_CAPTURE(BM_GemmAmx, mxfp4, TensorType::MXFP4)
    ->Args({2048, 4096, 2, 4})
    ->Args({2048, 4096, 2, 16})
    ->Args({2048, 4096, 2, 64})
    ->Args({2048, 4096, 2, 256})
    ->Args({2048, 4096, 2, 512})
    ->ArgNames({"rows", "cols", "threads", "tokens"})
    ->UseRealTime()
    ->MinTime(0.3);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // DSV4_TARGET pins dispatch, to show what each level of SIMD buys.
  try {
    dsv4::simd::pin_target_from_environment();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dsv4_bench_kernels: error: DSV4_TARGET: %s\n", e.what());
    return 2;
  }
  std::printf("SIMD target: %s; read bandwidth %.1f GB/s (1 thread), %.1f GB/s (2 threads)\n",
              dsv4::simd::active_target().c_str(), pool().read_bandwidth[1] / 1e9,
              pool().read_bandwidth[2] / 1e9);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
