// Options shared by the subcommands that compute: --threads, --precision, --ctx, --chunk.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "engine/session.h"

namespace dsv4::apps {

struct ComputeOptions {
  int threads = 0;                 // 0: one per physical core
  std::string precision = "fast";  // ref | fast
  int64_t context = 4096;
  int64_t chunk = 64;

  void add_to(CLI::App& app, bool with_context = true);
  engine::Precision parsed_precision() const;
  engine::SessionOptions session_options() const;
};

}  // namespace dsv4::apps
