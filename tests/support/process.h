// Runs a command for CLI tests and captures its exit status, stdout and stderr.
#pragma once

#include <string>
#include <vector>

namespace dsv4::testing {

struct ProcessResult {
  int status = -1;  // exit status, or 128+signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs `args` (args[0] is the program path) with `input` on stdin.
ProcessResult run_process(const std::vector<std::string>& args, const std::string& input = "");

}  // namespace dsv4::testing
