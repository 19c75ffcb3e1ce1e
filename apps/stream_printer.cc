#include "apps/stream_printer.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace dsv4::apps {
namespace {

constexpr std::string_view kDim = "\x1b[2m";
constexpr std::string_view kNormal = "\x1b[0m";

// A terminal that shows attributes: not a dumb one, and not when NO_COLOR asks for none.
bool styled_terminal(std::FILE* out) {
  if (isatty(fileno(out)) != 1 || std::getenv("NO_COLOR") != nullptr) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && *term != '\0' && std::string_view(term) != "dumb";
}

}  // namespace

StreamPrinter::StreamPrinter(std::FILE* out)
    : out_(out), tty_(isatty(fileno(out)) == 1), styled_(styled_terminal(out)) {}

void StreamPrinter::write(std::string_view text) {
  if (text.empty()) return;
  line_start_ = text.back() == '\n';
  if (!tty_) {
    std::fwrite(text.data(), 1, text.size(), out_);
    return;
  }
  // Control characters from the model (escape sequences, backspaces, carriage returns) would
  // drive the terminal instead of showing: each becomes U+FFFD.
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c >= 0x20 && c != 0x7f) || c == '\n' || c == '\t') continue;
    std::fwrite(text.data() + start, 1, i - start, out_);
    std::fputs("\xef\xbf\xbd", out_);
    start = i + 1;
  }
  std::fwrite(text.data() + start, 1, text.size() - start, out_);
}

void StreamPrinter::enter(Section section) {
  if (section == section_) return;
  if (section_ == Section::kReasoning) {
    if (styled_) std::fwrite(kNormal.data(), 1, kNormal.size(), out_);
    if (!line_start_) write("\n");
    if (!styled_) write("</think>\n");
  }
  if (!line_start_) write("\n");
  if (section == Section::kReasoning) {
    if (styled_) {
      std::fwrite(kDim.data(), 1, kDim.size(), out_);
    } else {
      write("<think>\n");
    }
  }
  section_ = section;
}

void StreamPrinter::print(const render::StreamEvent& event) {
  using Kind = render::StreamEvent::Kind;
  switch (event.kind) {
    case Kind::kReasoning:
      enter(Section::kReasoning);
      write(event.text);
      break;
    case Kind::kContent: {
      // The answer usually opens with blank lines after </think>; the section break shows it.
      std::string_view text = event.text;
      if (section_ == Section::kReasoning) {
        text.remove_prefix(std::min(text.size(), text.find_first_not_of('\n')));
        if (text.empty()) break;
      }
      enter(Section::kContent);
      write(text);
      break;
    }
    case Kind::kToolCallStart:
      enter(Section::kToolCall);
      write("[tool call] " + event.text + " ");
      break;
    case Kind::kToolCallArguments:
      write(event.text);
      break;
    case Kind::kToolCallEnd:
      write("\n");
      break;
  }
  std::fflush(out_);
}

void StreamPrinter::finish() {
  enter(Section::kNone);
  std::fflush(out_);
}

}  // namespace dsv4::apps
