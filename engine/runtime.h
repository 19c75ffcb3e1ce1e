// The oneTBB task arena every computation runs in, sized by `--threads`. Worker threads
// sleep when there is no work (TBB's default), so an idle server or REPL uses no CPU.
#pragma once

#include <tbb/task_arena.h>

#include <utility>

namespace dsv4::engine {

class Runtime {
 public:
  // threads <= 0: one per physical core.
  explicit Runtime(int threads);

  int threads() const { return threads_; }

  template <class F>
  auto run(F&& body) {
    return arena_.execute(std::forward<F>(body));
  }

 private:
  int threads_;
  tbb::task_arena arena_;
};

}  // namespace dsv4::engine
