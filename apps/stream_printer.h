// Writes generated text as it arrives, the reasoning set apart from the answer: dimmed on a
// terminal, framed by "<think>" and "</think>" lines otherwise (pipes, TERM=dumb, NO_COLOR).
// On a terminal, control characters in the text are shown as U+FFFD rather than obeyed. Tool
// calls follow the answer, one per line as "[tool call] name {arguments}".
#pragma once

#include <cstdio>
#include <string_view>

#include "render/dsml_stream.h"

namespace dsv4::apps {

class StreamPrinter {
 public:
  explicit StreamPrinter(std::FILE* out);
  void print(const render::StreamEvent& event);
  // Closes whatever is open and ends the line.
  void finish();

 private:
  enum class Section { kNone, kReasoning, kContent, kToolCall };
  void enter(Section section);
  void write(std::string_view text);

  std::FILE* out_;
  bool tty_;
  bool styled_;  // a tty that shows attributes (dim reasoning)
  Section section_ = Section::kNone;
  bool line_start_ = true;
};

}  // namespace dsv4::apps
