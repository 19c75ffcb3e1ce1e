// Incremental parser for generated text: feed it text as the model produces it and it emits
// reasoning deltas, content deltas, the start of each tool call (its name) and the deltas of
// its JSON arguments. Text that might still turn into markup (a partial tag, the "\n\n"
// before a tool-call block) or the first bytes of a UTF-8 character is held back until it is
// decided, so markup is never emitted as content and deltas are whole characters. The
// events of a whole text add up to exactly what parse_completion (dsml.h) returns, however
// the text is split.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "render/dsml.h"

namespace dsv4::render {

struct StreamEvent {
  enum class Kind {
    kReasoning,          // text: reasoning delta
    kContent,            // text: content delta
    kToolCallStart,      // text: the call's name; call: its index
    kToolCallArguments,  // text: a piece of the call's JSON arguments
    kToolCallEnd,        // the call's arguments are complete
  };
  Kind kind;
  std::string text;
  size_t call = 0;
  bool operator==(const StreamEvent&) const = default;
};

class DsmlStreamParser {
 public:
  explicit DsmlStreamParser(ThinkingMode mode);

  // Consumes the next piece of text; returns the events it completes (possibly none).
  std::vector<StreamEvent> feed(std::string_view text);
  // The text has ended: returns the events of everything held back.
  std::vector<StreamEvent> finish();
  // True once "<｜end▁of▁sentence｜>" was seen; later text is ignored.
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kThinkPrefix, kReasoning, kContent, kBlock, kInvoke, kValue, kDone };

  void run(bool final);
  // One step; returns false when it needs more input.
  bool step(bool final);
  bool scan_text(bool final, StreamEvent::Kind kind);
  bool scan_block(bool final);
  bool scan_invoke(bool final);
  bool scan_value(bool final);
  bool recover();
  void close_call();
  void emit(StreamEvent::Kind kind, std::string text);

  State state_;
  std::string buffer_;  // input not consumed yet; in a block it starts after the last complete tag
  std::vector<StreamEvent> events_;
  size_t calls_ = 0;
  bool call_open_ = false;
  bool first_parameter_ = true;
  bool value_is_string_ = true;
  std::string raw_value_;  // a string="false" value so far (emitted whole, once validated)
};

// Adds up stream events into the final message.
class MessageBuilder {
 public:
  void apply(const StreamEvent& event);
  void apply(const std::vector<StreamEvent>& events) {
    for (const StreamEvent& e : events) apply(e);
  }
  const ParsedMessage& message() const { return message_; }

 private:
  ParsedMessage message_;
};

}  // namespace dsv4::render
