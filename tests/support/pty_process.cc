#include "tests/support/pty_process.h"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>

namespace dsv4::testing {

PtyProcess::PtyProcess(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  winsize size = {};
  size.ws_row = 40;
  size.ws_col = 120;
  pid_ = forkpty(&master_, nullptr, nullptr, &size);
  if (pid_ < 0) throw std::runtime_error("forkpty failed");
  if (pid_ == 0) {
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
}

PtyProcess::~PtyProcess() {
  if (status_ < 0 && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (master_ >= 0) close(master_);
}

void PtyProcess::send(std::string_view keys) {
  while (!keys.empty()) {
    const ssize_t n = write(master_, keys.data(), keys.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    keys.remove_prefix(static_cast<size_t>(n));
  }
}

bool PtyProcess::read_some(int timeout_ms) {
  pollfd fd = {master_, POLLIN, 0};
  if (poll(&fd, 1, timeout_ms) <= 0) return true;
  char buf[4096];
  const ssize_t n = read(master_, buf, sizeof buf);
  if (n <= 0) return false;  // EIO: the process closed the terminal
  output_.append(buf, static_cast<size_t>(n));
  return true;
}

bool PtyProcess::wait_for(std::string_view text, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (true) {
    const size_t at = output_.find(text, searched_from_);
    if (at != std::string::npos) {
      chunk_ = output_.substr(searched_from_, at + text.size() - searched_from_);
      searched_from_ = at + text.size();
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (!read_some(50)) return false;
  }
}

int PtyProcess::wait_exit(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (status_ < 0) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    read_some(50);  // keep draining, so the process never blocks on a full terminal
  }
  return status_;
}

}  // namespace dsv4::testing
