// Reading request bodies: the JSON parse with limits, and typed access to fields that
// answers a wrong or missing field with a 400 naming it ("messages[2].content: expected a
// string or a list of content blocks").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsv4::server {

using Json = nlohmann::ordered_json;

// Key order is kept (ordered_json): tool schemas and arguments are rendered into the prompt
// as the client wrote them. Nesting deeper than `max_depth` is refused before parsing, since
// the parser recurses once per level, and so are more than `max_elements` values (about 100
// bytes of memory each, whatever their size in the body).
Json parse_request_body(std::string_view body, size_t max_depth = 64,
                        size_t max_elements = size_t{1} << 20);

// "where.key", or "key" at the top level.
std::string field_path(const std::string& where, std::string_view key);

// The member, or nullptr when it is absent or null (clients send null for "not set").
const Json* member(const Json& object, std::string_view key);

// Each reads `object[key]` (absent or null: nullopt) and refuses any other type or a value
// outside [min, max]; `where` is the path of `object` for the error message.
std::optional<std::string> optional_string(const Json& object, std::string_view key,
                                           const std::string& where = "");
std::optional<bool> optional_bool(const Json& object, std::string_view key,
                                  const std::string& where = "");
std::optional<double> optional_number(const Json& object, std::string_view key, double min,
                                      double max, const std::string& where = "");
std::optional<int64_t> optional_integer(const Json& object, std::string_view key, int64_t min,
                                        int64_t max, const std::string& where = "");

// A stop field: one string or a list of strings, none empty.
std::vector<std::string> stop_strings(const Json& object, std::string_view key);

// An object is required at `where` ("body" at the top level).
void require_object(const Json& value, const std::string& where);

// "a string", "a list", ... for error messages.
const char* type_name(const Json& value);

}  // namespace dsv4::server
