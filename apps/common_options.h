// Options shared by the subcommands that compute: --threads, --precision, --ctx, --chunk,
// --target, --mmap.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "engine/model.h"
#include "engine/session.h"

namespace dsv4::apps {

struct ComputeOptions {
  int threads = 0;                 // 0: one per physical core
  std::string precision = "fast";  // ref | fast
  int64_t context = 4096;
  int64_t chunk = 1024;
  std::string target;  // empty: DSV4_TARGET, else the best this CPU has
  bool mmap = false;   // compute from the file mapping instead of a huge-page copy

  void add_to(CLI::App& app, bool with_context = true);
  // Restricts SIMD dispatch to --target, else to DSV4_TARGET when set; call before computing.
  // Throws a UsageError naming the available targets when the target is not one of them.
  void pin_target() const;
  engine::Precision parsed_precision() const;
  engine::SessionOptions session_options() const;
  engine::WeightMemory weight_memory() const;
};

}  // namespace dsv4::apps
