// Ctrl-C as a request instead of a kill: while an InterruptHandler exists, SIGINT raises a
// flag that the generation loop checks between tokens and the line editor while it waits for
// a key. For one-shot commands a second Ctrl-C before the flag is lowered ends the process as
// usual, for when the engine is deep in a long step; a chat keeps its conversation instead.
#pragma once

#include <atomic>

namespace dsv4::apps {

class InterruptHandler {
 public:
  explicit InterruptHandler(bool second_interrupt_exits);
  ~InterruptHandler();
  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;

  static const std::atomic<bool>& flag();
  static bool raised() { return flag().load(std::memory_order_relaxed); }
  static void clear();
};

}  // namespace dsv4::apps
