// Runs a command on a pseudo-terminal, as a person at a terminal would: tests type into it,
// send control characters (Ctrl-C reaches the process as SIGINT through the terminal) and
// wait for text to appear.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace dsv4::testing {

class PtyProcess {
 public:
  // args[0] is the program path; `env` entries ("NAME=value") are added to the environment.
  explicit PtyProcess(const std::vector<std::string>& args,
                      const std::vector<std::string>& env = {});
  ~PtyProcess();  // kills the process if it is still running
  PtyProcess(const PtyProcess&) = delete;
  PtyProcess& operator=(const PtyProcess&) = delete;

  pid_t pid() const { return pid_; }
  void send(std::string_view keys);
  // Waits until `text` appears in the output written since the last successful wait_for
  // (or the start); false after `seconds` or when the process closed the terminal.
  bool wait_for(std::string_view text, double seconds);
  // Output since the previous successful wait_for, up to and including the match.
  const std::string& last_chunk() const { return chunk_; }
  const std::string& output() const { return output_; }
  // Exit status (128+signal when killed), or -1 when it has not exited after `seconds`.
  int wait_exit(double seconds);

 private:
  bool read_some(int timeout_ms);

  pid_t pid_ = -1;
  int master_ = -1;
  std::string output_;
  size_t searched_from_ = 0;
  std::string chunk_;
  int status_ = -1;
};

}  // namespace dsv4::testing
