// Runs a command for CLI tests and captures its exit status, stdout and stderr.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace dsv4::testing {

struct ProcessResult {
  int status = -1;  // exit status, or 128+signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs `command` (command[0] is the program path) with `input` on stdin. In a cross build, a
// program built by this project runs under the build's emulator.
ProcessResult run_process(const std::vector<std::string>& command, const std::string& input = "");

// CPU time (user + system, all threads) process `pid` has used so far, from /proc/<pid>/stat.
double process_cpu_seconds(pid_t pid);

}  // namespace dsv4::testing
