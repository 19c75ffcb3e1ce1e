#include "base/json_limits.h"

#include "base/error.h"

namespace dsv4 {
namespace {

// Follows string literals through a JSON text one character at a time, so that the scanners
// below see only structural characters.
class StringTracker {
 public:
  // True for a character that belongs to a string literal, its quotes included.
  bool inside(char c) {
    if (!in_string_) {
      in_string_ = c == '"';
      return in_string_;
    }
    if (escaped_) {
      escaped_ = false;
    } else if (c == '\\') {
      escaped_ = true;
    } else if (c == '"') {
      in_string_ = false;
    }
    return true;
  }

 private:
  bool in_string_ = false, escaped_ = false;
};

}  // namespace

size_t json_nesting_depth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  StringTracker strings;
  for (char c : text) {
    if (strings.inside(c)) continue;
    if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

size_t json_element_count(std::string_view text) {
  // Every value is the root, the first member of a non-empty container, or follows a comma.
  size_t count = 0;
  bool started = false, container_opened = false;
  StringTracker strings;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    // Whitespace never changes the string state, so it is skipped before the tracker.
    count += !started || (container_opened && c != ']' && c != '}');
    started = true;
    container_opened = false;
    if (strings.inside(c)) continue;
    container_opened = c == '[' || c == '{';
    if (c == ',') ++count;
  }
  return count;
}

nlohmann::json parse_json_limited(std::string_view text, std::string_view what,
                                  const JsonLimits& limits) {
  if (text.size() > limits.max_bytes)
    fail(what, ": JSON of ", text.size(), " bytes exceeds the limit of ", limits.max_bytes);
  const size_t depth = json_nesting_depth(text);
  if (depth > limits.max_depth)
    fail(what, ": JSON nesting depth ", depth, " exceeds the limit of ", limits.max_depth);
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    fail(what, ": invalid JSON: ", json_error_message(e));
  }
}

std::string json_error_message(const nlohmann::json::exception& e) {
  const std::string message = e.what();
  const size_t at = message.find("] ");
  return at == std::string::npos ? message : message.substr(at + 2);
}

}  // namespace dsv4
