#include "render/dsml_stream.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "render/dsml_grammar.h"
#include "render/python_json.h"
#include "render/utf8.h"

namespace dsv4::render {
namespace {

using Kind = StreamEvent::Kind;

// A tool-call block together with the "\n\n" that encoding_dsv4 puts before it.
constexpr std::string_view kBlockLead = "\n\n<｜DSML｜tool_calls>";

// Length of the longest suffix of `text` that is a proper prefix of one of `markers`: the
// bytes that must wait because the next piece could complete a marker.
size_t partial_marker_suffix(std::string_view text,
                             std::initializer_list<std::string_view> markers) {
  size_t longest = 0;
  for (std::string_view marker : markers) {
    for (size_t len = std::min(text.size(), marker.size() - 1); len > longest; --len) {
      if (marker.starts_with(text.substr(text.size() - len))) {
        longest = len;
        break;
      }
    }
  }
  return longest;
}

size_t skip_space(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && dsml::is_space(text[i])) ++i;
  return i;
}

std::string escaped(std::string_view text) {
  std::string out;
  append_python_json_escaped(out, is_valid_utf8(text) ? std::string(text) : sanitize_utf8(text));
  return out;
}

}  // namespace

DsmlStreamParser::DsmlStreamParser(ThinkingMode mode)
    : state_(mode == ThinkingMode::kThinking ? State::kThinkPrefix : State::kContent) {}

std::vector<StreamEvent> DsmlStreamParser::feed(std::string_view text) {
  if (state_ == State::kDone) return {};
  buffer_ += text;
  run(false);
  return std::exchange(events_, {});
}

std::vector<StreamEvent> DsmlStreamParser::finish() {
  run(true);
  state_ = State::kDone;
  buffer_.clear();
  return std::exchange(events_, {});
}

void DsmlStreamParser::run(bool final) {
  while (step(final)) {
  }
}

bool DsmlStreamParser::step(bool final) {
  switch (state_) {
    case State::kThinkPrefix:
      if (!final && buffer_.size() < kThinkStart.size() && kThinkStart.starts_with(buffer_))
        return false;
      if (buffer_.starts_with(kThinkStart)) buffer_.erase(0, kThinkStart.size());
      state_ = State::kReasoning;
      return true;
    case State::kReasoning:
      return scan_text(final, Kind::kReasoning);
    case State::kContent:
      return scan_text(final, Kind::kContent);
    case State::kBlock:
      return scan_block(final);
    case State::kInvoke:
      return scan_invoke(final);
    case State::kValue:
      return scan_value(final);
    case State::kDone:
      buffer_.clear();
      return false;
  }
  return false;
}

void DsmlStreamParser::emit(Kind kind, std::string text) {
  if (text.empty() &&
      (kind == Kind::kReasoning || kind == Kind::kContent || kind == Kind::kToolCallArguments))
    return;
  events_.push_back({kind, std::move(text), calls_});
}

bool DsmlStreamParser::scan_text(bool final, Kind kind) {
  const bool reasoning = kind == Kind::kReasoning;
  const std::string_view marker = reasoning ? kThinkEnd : kToolCallsOpen;
  const size_t eos = buffer_.find(kEosText);
  const size_t at = buffer_.find(marker);
  if (eos != std::string::npos && eos < at) {
    emit(kind, buffer_.substr(0, eos));
    buffer_.clear();
    state_ = State::kDone;
    return false;
  }
  if (at != std::string::npos) {
    std::string before = buffer_.substr(0, at);
    if (!reasoning && before.ends_with("\n\n")) before.resize(before.size() - 2);
    emit(kind, std::move(before));
    buffer_.erase(0, at + marker.size());
    state_ = reasoning ? State::kContent : State::kBlock;
    return true;
  }
  if (final) {
    emit(kind, std::exchange(buffer_, {}));
    return false;
  }
  const size_t keep = reasoning
                          ? partial_marker_suffix(buffer_, {kThinkEnd, kEosText})
                          : partial_marker_suffix(buffer_, {kBlockLead, kToolCallsOpen, kEosText});
  const size_t ready =
      utf8_stable_prefix(std::string_view(buffer_).substr(0, buffer_.size() - keep));
  emit(kind, buffer_.substr(0, ready));
  buffer_.erase(0, ready);
  return false;
}

bool DsmlStreamParser::scan_block(bool final) {
  const size_t i = skip_space(buffer_);
  const std::string_view rest = std::string_view(buffer_).substr(i);
  if (rest.starts_with(kToolCallsClose)) {
    buffer_.erase(0, i + kToolCallsClose.size());
    state_ = State::kContent;
    return true;
  }
  if (rest.starts_with(kInvokeOpen)) {
    dsml::TagHeader header = dsml::parse_invoke_header(rest.substr(kInvokeOpen.size()));
    if (header.status == dsml::HeaderStatus::kIncomplete && !final) return false;
    if (header.status != dsml::HeaderStatus::kComplete) return recover();
    emit(Kind::kToolCallStart, std::move(header.name));
    emit(Kind::kToolCallArguments, "{");
    call_open_ = true;
    first_parameter_ = true;
    buffer_.erase(0, i + kInvokeOpen.size() + header.length);
    state_ = State::kInvoke;
    return true;
  }
  const bool partial = kToolCallsClose.starts_with(rest) || kInvokeOpen.starts_with(rest);
  if (partial && !final) return false;
  return recover();
}

bool DsmlStreamParser::scan_invoke(bool final) {
  const size_t i = skip_space(buffer_);
  const std::string_view rest = std::string_view(buffer_).substr(i);
  if (rest.starts_with(kInvokeClose)) {
    close_call();
    buffer_.erase(0, i + kInvokeClose.size());
    state_ = State::kBlock;
    return true;
  }
  if (rest.starts_with(kParameterOpen)) {
    const dsml::TagHeader header = dsml::parse_parameter_header(rest.substr(kParameterOpen.size()));
    if (header.status == dsml::HeaderStatus::kIncomplete && !final) return false;
    if (header.status != dsml::HeaderStatus::kComplete) return recover();
    std::string key = first_parameter_ ? "" : ", ";
    key += python_json_string(header.name);
    key += header.is_string ? ": \"" : ": ";
    emit(Kind::kToolCallArguments, std::move(key));
    first_parameter_ = false;
    value_is_string_ = header.is_string;
    raw_value_.clear();
    buffer_.erase(0, i + kParameterOpen.size() + header.length);
    state_ = State::kValue;
    return true;
  }
  const bool partial = kInvokeClose.starts_with(rest) || kParameterOpen.starts_with(rest);
  if (partial && !final) return false;
  return recover();
}

bool DsmlStreamParser::scan_value(bool final) {
  const size_t close = buffer_.find(kParameterClose);
  if (close != std::string::npos || final) {
    const std::string_view value = std::string_view(buffer_).substr(0, close);
    if (value_is_string_) {
      emit(Kind::kToolCallArguments, escaped(value) + "\"");
    } else {
      emit(Kind::kToolCallArguments, dsml::non_string_value_json(raw_value_ + std::string(value)));
    }
    if (close == std::string::npos) {  // the text ended inside the value
      close_call();
      buffer_.clear();
      state_ = State::kDone;
      return false;
    }
    buffer_.erase(0, close + kParameterClose.size());
    state_ = State::kInvoke;
    return true;
  }
  const size_t keep = partial_marker_suffix(buffer_, {kParameterClose});
  if (value_is_string_) {
    const size_t ready =
        utf8_stable_prefix(std::string_view(buffer_).substr(0, buffer_.size() - keep));
    emit(Kind::kToolCallArguments, escaped(std::string_view(buffer_).substr(0, ready)));
    buffer_.erase(0, ready);
  } else {
    raw_value_.append(buffer_, 0, buffer_.size() - keep);
    buffer_.erase(0, buffer_.size() - keep);
  }
  return false;
}

// The grammar broke: the call in progress keeps the parameters it completed, and the text
// from the end of the last complete tag on is read as content again.
bool DsmlStreamParser::recover() {
  if (call_open_) close_call();
  state_ = State::kContent;
  return true;
}

void DsmlStreamParser::close_call() {
  emit(Kind::kToolCallArguments, "}");
  emit(Kind::kToolCallEnd, "");
  call_open_ = false;
  ++calls_;
}

void MessageBuilder::apply(const StreamEvent& event) {
  switch (event.kind) {
    case Kind::kReasoning:
      message_.reasoning_content += event.text;
      break;
    case Kind::kContent:
      message_.content += event.text;
      break;
    case Kind::kToolCallStart:
      message_.tool_calls.push_back({event.text, ""});
      break;
    case Kind::kToolCallArguments:
      if (event.call < message_.tool_calls.size())
        message_.tool_calls[event.call].arguments += event.text;
      break;
    case Kind::kToolCallEnd:
      break;
  }
}

}  // namespace dsv4::render
