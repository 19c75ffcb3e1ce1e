#include "apps/line_editor.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <clocale>
#include <cstdio>
#include <cwchar>

#include "apps/interrupt.h"
#include "base/error.h"

namespace dsv4::apps {
namespace {

LineEditor* owner(EditLine* editor) {
  LineEditor* self = nullptr;
  el_get(editor, EL_CLIENTDATA, &self);
  return self;
}

}  // namespace

LineEditor::LineEditor(const char* program) {
  // libedit converts between bytes and wide characters with the locale's encoding; without a
  // UTF-8 locale, non-ASCII input would be dropped.
  std::setlocale(LC_CTYPE, "");
  if (MB_CUR_MAX == 1) std::setlocale(LC_CTYPE, "C.UTF-8");
  editor_ = el_init(program, stdin, stdout, stderr);
  history_ = history_init();
  if (editor_ == nullptr || history_ == nullptr) fail("cannot initialise libedit");
  HistEvent event;
  history(history_, &event, H_SETSIZE, 1000);
  history(history_, &event, H_SETUNIQUE, 1);
  el_set(editor_, EL_CLIENTDATA, this);
  el_set(editor_, EL_EDITOR, "emacs");
  el_set(editor_, EL_HIST, history, history_);
  el_set(editor_, EL_PROMPT, &LineEditor::prompt_text);
  el_set(editor_, EL_GETCFN, &LineEditor::read_char);
  el_source(editor_, nullptr);  // the user's ~/.editrc, as every libedit program reads it
}

LineEditor::~LineEditor() {
  if (editor_ != nullptr) el_end(editor_);
  if (history_ != nullptr) history_end(history_);
}

char* LineEditor::prompt_text(EditLine* editor) {
  return owner(editor)->prompt_.data();
}

// libedit's own reader retries a read interrupted by a signal; this one gives up on Ctrl-C.
// It polls so that the flag is seen whichever thread the signal was delivered to.
int LineEditor::read_char(EditLine* editor, wchar_t* out) {
  (void)editor;
  char bytes[MB_LEN_MAX];
  size_t n = 0;
  while (true) {
    if (InterruptHandler::raised()) {
      errno = EINTR;
      return -1;
    }
    pollfd fd = {STDIN_FILENO, POLLIN, 0};
    const int ready = poll(&fd, 1, 100);
    if (ready < 0 && errno != EINTR) return -1;
    if (ready <= 0) continue;
    const ssize_t r = ::read(STDIN_FILENO, bytes + n, 1);
    if (r == 0) return 0;
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    ++n;
    std::mbstate_t state = {};
    const size_t used = std::mbrtowc(out, bytes, n, &state);
    if (used == static_cast<size_t>(-2) && n < sizeof bytes) continue;  // incomplete
    if (used == static_cast<size_t>(-1) || used == static_cast<size_t>(-2)) {
      n = 0;  // not a character in this encoding: dropped
      continue;
    }
    return 1;
  }
}

LineEditor::Status LineEditor::read(const std::string& prompt, std::string& line) {
  prompt_ = prompt;
  int count = 0;
  const char* text = el_gets(editor_, &count);
  if (InterruptHandler::raised()) {
    InterruptHandler::clear();
    return Status::kInterrupted;
  }
  if (text == nullptr) return Status::kEnd;
  line.assign(text, static_cast<size_t>(count));
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return Status::kLine;
}

void LineEditor::remember(const std::string& line) {
  HistEvent event;
  history(history_, &event, H_ENTER, line.c_str());
}

}  // namespace dsv4::apps
