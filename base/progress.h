// A progress bar for long steps (load, convert, prefill). It draws on stderr only when
// stderr is a terminal, so logs and pipes stay quiet, and redraws at most ~10 times/s.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace dsv4 {

class ProgressBar {
 public:
  // `total` is in `unit`s (e.g. "tok", "MB"); a total of 0 shows a counter only.
  ProgressBar(std::string label, uint64_t total, std::string unit);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(uint64_t done);
  void finish();
  bool enabled() const { return enabled_; }

  // Lets tests and --quiet switch bars off globally.
  static void set_globally_enabled(bool enabled);

 private:
  void draw(bool final_draw);

  std::string label_;
  std::string unit_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace dsv4
