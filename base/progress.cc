#include "base/progress.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace dsv4 {
namespace {
std::atomic<bool> g_enabled{true};
}

void ProgressBar::set_globally_enabled(bool enabled) {
  g_enabled = enabled;
}

ProgressBar::ProgressBar(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(g_enabled && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(uint64_t done) {
  done_ = done;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(true);
}

void ProgressBar::draw(bool final_draw) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
  constexpr int kWidth = 30;
  if (total_ > 0) {
    const double frac =
        done_ >= total_ ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
    const int filled = static_cast<int>(frac * kWidth);
    char bar[kWidth + 1];
    for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
    bar[kWidth] = '\0';
    std::fprintf(stderr, "\r%s [%s] %3d%% %llu/%llu %s (%.1f %s/s)\033[K", label_.c_str(), bar,
                 static_cast<int>(frac * 100), static_cast<unsigned long long>(done_),
                 static_cast<unsigned long long>(total_), unit_.c_str(), rate, unit_.c_str());
  } else {
    std::fprintf(stderr, "\r%s %llu %s (%.1f %s/s)\033[K", label_.c_str(),
                 static_cast<unsigned long long>(done_), unit_.c_str(), rate, unit_.c_str());
  }
  if (final_draw) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

}  // namespace dsv4
