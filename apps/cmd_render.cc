// `dsv4 render [--mode chat|thinking] [--effort high|max] [--keep-reasoning]`: messages as
// JSON on stdin -> the prompt text encoding_dsv4 renders for them, on stdout.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "apps/command.h"
#include "base/error.h"
#include "base/json_limits.h"
#include "render/chat.h"

namespace dsv4::apps {
namespace {

// {"messages": [...]} (optionally with "tools", which go on the first message as DeepSeek's
// encoding tests put them) or a bare list of messages.
nlohmann::ordered_json read_messages(const std::string& text) {
  const JsonLimits limits;
  if (text.size() > limits.max_bytes)
    fail("stdin: ", text.size(), " bytes of JSON exceed the limit of ", limits.max_bytes);
  if (json_nesting_depth(text) > limits.max_depth)
    fail("stdin: JSON nested deeper than ", limits.max_depth);
  nlohmann::ordered_json input = nlohmann::ordered_json::parse(text, nullptr, false);
  if (input.is_discarded()) fail("stdin: not valid JSON");
  if (input.is_array()) return input;
  if (!input.is_object() || !input.contains("messages"))
    fail("stdin: expected {\"messages\": [...]} or a list of messages");
  nlohmann::ordered_json messages = input.at("messages");
  if (input.contains("tools") && messages.is_array() && !messages.empty() &&
      messages[0].is_object())
    messages[0]["tools"] = input.at("tools");
  return messages;
}

}  // namespace

int run_render(int argc, char** argv) {
  CLI::App app{"Render chat messages (JSON on stdin) into a DeepSeek V4 prompt", argv[0]};
  std::string mode = "thinking";
  std::string effort = "high";
  bool keep_reasoning = false;
  app.add_option("--mode", mode, "chat or thinking")
      ->check(CLI::IsMember({"chat", "thinking"}))
      ->capture_default_str();
  app.add_option("--effort", effort, "reasoning effort in thinking mode: high or max")
      ->check(CLI::IsMember({"high", "max"}))
      ->capture_default_str();
  app.add_flag("--keep-reasoning", keep_reasoning, "keep the reasoning of earlier assistant turns");
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;
  render::ChatOptions options;
  options.mode = mode == "chat" ? render::ThinkingMode::kChat : render::ThinkingMode::kThinking;
  options.effort = effort == "max" ? render::ReasoningEffort::kMax : render::ReasoningEffort::kHigh;
  options.drop_thinking = !keep_reasoning;

  const std::string text{std::istreambuf_iterator<char>(std::cin),
                         std::istreambuf_iterator<char>()};
  const std::string prompt = render::render_chat(read_messages(text), options);
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  return 0;
}

}  // namespace dsv4::apps
