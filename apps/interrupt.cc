#include "apps/interrupt.h"

#include <signal.h>

namespace dsv4::apps {
namespace {

std::atomic<bool> g_interrupted{false};
std::atomic<bool> g_second_exits{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the flags are read in a signal handler");

struct sigaction g_previous;

void on_sigint(int signo) {
  if (g_interrupted.exchange(true) && g_second_exits.load()) {
    signal(signo, SIG_DFL);
    raise(signo);
  }
}

}  // namespace

InterruptHandler::InterruptHandler(bool second_interrupt_exits) {
  g_interrupted = false;
  g_second_exits = second_interrupt_exits;
  struct sigaction action = {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking read returns, so waits notice the flag
  sigaction(SIGINT, &action, &g_previous);
}

InterruptHandler::~InterruptHandler() {
  sigaction(SIGINT, &g_previous, nullptr);
}

const std::atomic<bool>& InterruptHandler::flag() {
  return g_interrupted;
}

void InterruptHandler::clear() {
  g_interrupted = false;
}

}  // namespace dsv4::apps
