#include "render/dsml_grammar.h"

#include <nlohmann/json.hpp>

#include "render/python_json.h"

namespace dsv4::render::dsml {
namespace {

// Reads the header grammar left to right; running out of text before a decision is
// kIncomplete, a byte that cannot continue it is kInvalid.
class HeaderReader {
 public:
  explicit HeaderReader(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  // Skips white space; `required` demands at least one byte of it.
  HeaderStatus space(bool required) {
    const size_t start = pos_;
    while (!at_end() && is_space(peek())) ++pos_;
    if (at_end()) return HeaderStatus::kIncomplete;
    return required && pos_ == start ? HeaderStatus::kInvalid : HeaderStatus::kComplete;
  }

  HeaderStatus literal(std::string_view expected) {
    for (char c : expected) {
      if (at_end()) return HeaderStatus::kIncomplete;
      if (peek() != c) return HeaderStatus::kInvalid;
      ++pos_;
    }
    return HeaderStatus::kComplete;
  }

  // `key="value"` with the value up to the next quote.
  HeaderStatus attribute(std::string_view key, std::string& value) {
    if (HeaderStatus s = literal(key); s != HeaderStatus::kComplete) return s;
    if (HeaderStatus s = literal("=\""); s != HeaderStatus::kComplete) return s;
    const size_t quote = text_.find('"', pos_);
    if (quote == std::string_view::npos) return HeaderStatus::kIncomplete;
    value.assign(text_.substr(pos_, quote - pos_));
    pos_ = quote + 1;
    return HeaderStatus::kComplete;
  }

  TagHeader finish(TagHeader header) {
    header.status = HeaderStatus::kComplete;
    header.length = pos_;
    return header;
  }

  size_t pos_ = 0;

 private:
  std::string_view text_;
};

TagHeader status_only(HeaderStatus s) {
  TagHeader h;
  h.status = s;
  return h;
}

}  // namespace

TagHeader parse_invoke_header(std::string_view text) {
  HeaderReader r(text);
  TagHeader h;
  if (HeaderStatus s = r.space(true); s != HeaderStatus::kComplete) return status_only(s);
  if (HeaderStatus s = r.attribute("name", h.name); s != HeaderStatus::kComplete)
    return status_only(s);
  if (HeaderStatus s = r.space(false); s != HeaderStatus::kComplete) return status_only(s);
  if (r.peek() != '>') return status_only(HeaderStatus::kInvalid);
  ++r.pos_;
  return r.finish(std::move(h));
}

TagHeader parse_parameter_header(std::string_view text) {
  HeaderReader r(text);
  TagHeader h;
  if (HeaderStatus s = r.space(true); s != HeaderStatus::kComplete) return status_only(s);
  if (HeaderStatus s = r.attribute("name", h.name); s != HeaderStatus::kComplete)
    return status_only(s);
  const size_t before_space = r.pos_;
  if (HeaderStatus s = r.space(false); s != HeaderStatus::kComplete) return status_only(s);
  if (r.peek() != '>') {
    if (r.pos_ == before_space) return status_only(HeaderStatus::kInvalid);
    std::string flag;
    if (HeaderStatus s = r.attribute("string", flag); s != HeaderStatus::kComplete)
      return status_only(s);
    if (flag != "true" && flag != "false") return status_only(HeaderStatus::kInvalid);
    h.is_string = flag == "true";
    if (HeaderStatus s = r.space(false); s != HeaderStatus::kComplete) return status_only(s);
    if (r.peek() != '>') return status_only(HeaderStatus::kInvalid);
  }
  ++r.pos_;
  return r.finish(std::move(h));
}

std::string non_string_value_json(std::string_view raw) {
  if (nlohmann::json::accept(raw)) return std::string(raw);
  return python_json_string(raw);
}

}  // namespace dsv4::render::dsml
