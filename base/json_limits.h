// Parses untrusted JSON with limits: nlohmann::json recurses once per nesting level, so
// an absurdly nested document could exhaust the stack. The depth is checked by a linear
// scan before the real parse.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dsv4 {

struct JsonLimits {
  size_t max_bytes = size_t{64} << 20;
  size_t max_depth = 64;
};

// Throws dsv4::Error "<what>: ..." for oversized, too deeply nested or malformed input.
nlohmann::json parse_json_limited(std::string_view text, std::string_view what,
                                  const JsonLimits& limits = {});

// nlohmann's message for a rejected document without its "[json.exception.<kind>.<id>] "
// prefix. Parse errors and numbers too large for a double (out_of_range 406) both land here.
std::string json_error_message(const nlohmann::json::exception& e);

// Deepest nesting of arrays/objects in `text`, ignoring brackets inside strings.
size_t json_nesting_depth(std::string_view text);

// The number of values in `text` (containers and scalars; object keys are not values), counted
// without parsing. It decides the parsed document's memory, many times the text's for small
// values ("[[],[],...]" takes some 20 bytes per 3 bytes of text).
size_t json_element_count(std::string_view text);

}  // namespace dsv4
