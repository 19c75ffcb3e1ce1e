// Line input for `dsv4 chat`: libedit's line editing and history on a terminal, plain line
// reads from a pipe. While it waits for a key it watches the InterruptHandler flag, so Ctrl-C
// abandons the line being typed.
#pragma once

#include <string>

#include <histedit.h>

namespace dsv4::apps {

class LineEditor {
 public:
  explicit LineEditor(const char* program);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  enum class Status { kLine, kInterrupted, kEnd };
  // Reads one line (without its newline) after showing `prompt`.
  Status read(const std::string& prompt, std::string& line);
  void remember(const std::string& line);

 private:
  static char* prompt_text(EditLine* editor);
  static int read_char(EditLine* editor, wchar_t* out);

  EditLine* editor_ = nullptr;
  History* history_ = nullptr;
  std::string prompt_;
};

}  // namespace dsv4::apps
