#include "base/json_limits.h"

#include "base/error.h"

namespace dsv4 {

size_t json_nesting_depth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
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
  bool in_string = false, escaped = false, started = false, container_opened = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (!started || (container_opened && c != ']' && c != '}')) ++count;
    started = true;
    container_opened = c == '[' || c == '{';
    if (c == ',') ++count;
    if (c == '"') in_string = true;
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
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message starts with "[json.exception.parse_error.101] parse error at ...".
    std::string message = e.what();
    size_t at = message.find("] ");
    fail(what, ": invalid JSON: ", at == std::string::npos ? message : message.substr(at + 2));
  }
}

}  // namespace dsv4
