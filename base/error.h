// Error reporting shared by every library: one exception type whose message is a single
// line naming the file, key, tensor or field at fault. `apps/` turns it into
// "dsv4: error: <message>" and exit status 1 (2 for UsageError).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace dsv4 {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A bad command line: wrong flag, missing argument, value out of range.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
};

// Concatenates anything streamable into one string: str_cat("tensor ", name, ": ", n).
template <typename... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(str_cat(std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void fail_usage(Args&&... args) {
  throw UsageError(str_cat(std::forward<Args>(args)...));
}

}  // namespace dsv4
