// `dsv4 parse --mode chat|thinking`: generated text on stdin -> the assistant message it
// holds, {role, content, reasoning_content, tool_calls}, as JSON on stdout.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "apps/command.h"
#include "render/dsml.h"

namespace dsv4::apps {

int run_parse(int argc, char** argv) {
  CLI::App app{"Parse a completion (stdin) into reasoning, content and tool calls", argv[0]};
  std::string mode;
  app.add_option("--mode", mode, "chat or thinking: the mode the prompt was rendered in")
      ->required()
      ->check(CLI::IsMember({"chat", "thinking"}));
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;

  const std::string text{std::istreambuf_iterator<char>(std::cin),
                         std::istreambuf_iterator<char>()};
  // Model output may hold invalid UTF-8: it is printed as U+FFFD rather than refused.
  const std::string out =
      render::message_to_json(render::parse_completion(text, mode == "chat"
                                                                 ? render::ThinkingMode::kChat
                                                                 : render::ThinkingMode::kThinking))
          .dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
      "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace dsv4::apps
