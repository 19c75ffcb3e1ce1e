// The oneTBB task arena every computation runs in, sized by `--threads`. Worker threads
// sleep when there is no work (TBB's default), so an idle server or REPL uses no CPU.
#pragma once

#include <tbb/task_arena.h>
#include <tbb/task_scheduler_observer.h>

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
  // Gives each thread its kernel scratch as it joins the arena, so that the first kernel a
  // worker meets mid-decode does not allocate (the decode loop allocates nothing).
  class ScratchReserver : public tbb::task_scheduler_observer {
   public:
    explicit ScratchReserver(tbb::task_arena& arena);
    ~ScratchReserver() override;
    void on_scheduler_entry(bool is_worker) override;
  };

  int threads_;
  tbb::task_arena arena_;
  ScratchReserver reserver_;
};

}  // namespace dsv4::engine
