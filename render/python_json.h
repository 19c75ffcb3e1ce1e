// JSON text byte-identical to Python's `json.dumps(value, ensure_ascii=False)`, which
// encoding_dsv4 uses for tool schemas, response formats, non-string tool arguments and the
// arguments string of parsed tool calls: ", " and ": " separators, keys in document order
// (hence ordered_json), non-ASCII kept, floats as Python's repr.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dsv4::render {

std::string python_json_dumps(const nlohmann::ordered_json& value);

// A JSON string literal (with quotes) for `text`; invalid UTF-8 becomes U+FFFD.
std::string python_json_string(std::string_view text);

// Escapes valid UTF-8 `text` as the inside of a JSON string literal, appending to `out`.
void append_python_json_escaped(std::string& out, std::string_view text);

// Python's repr() of a float ("1.0", "1e-05", "1.5e+16", "inf" aside).
std::string python_float_repr(double value);

}  // namespace dsv4::render
