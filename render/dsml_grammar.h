// The pieces of DSML tool-call syntax that the batch parser (dsml.h) and the incremental
// parser (dsml_stream.h) must decide identically: tag headers, white space between tags and
// the JSON written for a parameter value. Internal to render/.
//
// Inside a "<｜DSML｜tool_calls>" block the grammar is (ws = space, tab, CR, LF):
//   block     := (ws* invoke)* ws* "</｜DSML｜tool_calls>"
//   invoke    := "<｜DSML｜invoke" ws+ 'name="' NAME '"' ws* ">" (ws* parameter)* ws*
//   "</｜DSML｜invoke>" parameter := "<｜DSML｜parameter" ws+ 'name="' NAME '"' [ws+ 'string="'
//   (true|false) '"'] ws* ">"
//                VALUE "</｜DSML｜parameter>"
// NAME is any bytes but '"'; VALUE any bytes up to the first closing parameter tag (raw, as
// encoding_dsv4 writes it). `string` defaults to true.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dsv4::render::dsml {

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

enum class HeaderStatus {
  kComplete,    // `length` bytes form the header, up to and including '>'
  kIncomplete,  // the text ends before the header does: more input could complete it
  kInvalid,
};

struct TagHeader {
  HeaderStatus status = HeaderStatus::kInvalid;
  size_t length = 0;
  std::string name;
  bool is_string = true;
};

// `text` starts right after "<｜DSML｜invoke" / "<｜DSML｜parameter".
TagHeader parse_invoke_header(std::string_view text);
TagHeader parse_parameter_header(std::string_view text);

// JSON for the value of a string="false" parameter: the raw text when it is valid JSON (as
// encoding_dsv4 keeps it), otherwise the text as a JSON string, so that the arguments of a
// parsed call are always valid JSON.
std::string non_string_value_json(std::string_view raw);

}  // namespace dsv4::render::dsml
