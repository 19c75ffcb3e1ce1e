// Chat rendering: DeepSeek's four official encoding cases byte for byte, their completions
// parsed back, and the rules the cases do not cover (max effort, keeping reasoning, tool
// result order and escaping, Python's JSON spelling, errors).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "render/chat.h"
#include "render/dsml.h"
#include "render/python_json.h"
#include "tests/support/testdata.h"

using namespace dsv4::render;
using dsv4::testing::require_testdata;
using nlohmann::ordered_json;

namespace {

// The messages of case `n`; case 1 lists its tools beside the messages, and DeepSeek's
// test puts them on the first (system) message.
ordered_json case_messages(const std::string& dir, int n) {
  ordered_json input = ordered_json::parse(
      dsv4::testing::read_file(dir + "/test_input_" + std::to_string(n) + ".json"));
  if (input.is_array()) return input;
  ordered_json messages = input.at("messages");
  messages[0]["tools"] = input.at("tools");
  return messages;
}

ThinkingMode case_mode(int n) {
  return n == 4 ? ThinkingMode::kChat : ThinkingMode::kThinking;
}

std::string render_case(const std::string& dir, int n) {
  return render_chat(case_messages(dir, n), {.mode = case_mode(n)});
}

constexpr std::string_view kMarker = "<｜Assistant｜><think>";

// The completion of the first assistant turn (up to the next user turn) and of the last.
std::string first_completion(const std::string& prompt) {
  const size_t start = prompt.find(kMarker) + kMarker.size();
  return prompt.substr(start, prompt.find("<｜User｜>", start) - start);
}
std::string last_completion(const std::string& prompt) {
  return prompt.substr(prompt.rfind(kMarker) + kMarker.size());
}

void check_matches_message(const ParsedMessage& parsed, const ordered_json& msg) {
  CHECK(parsed.reasoning_content == msg.value("reasoning_content", ""));
  CHECK(parsed.content == (msg.contains("content") && msg.at("content").is_string()
                               ? msg.at("content").get<std::string>()
                               : ""));
  const ordered_json calls = msg.value("tool_calls", ordered_json::array());
  REQUIRE(parsed.tool_calls.size() == calls.size());
  for (size_t k = 0; k < calls.size(); ++k) {
    CHECK(parsed.tool_calls[k].name == calls[k].at("function").at("name").get<std::string>());
    CHECK(nlohmann::json::parse(parsed.tool_calls[k].arguments) ==
          nlohmann::json::parse(calls[k].at("function").at("arguments").get<std::string>()));
  }
}

}  // namespace

TEST_CASE("chat: the four official encoding cases render byte for byte") {
  const auto dir = require_testdata("encoding");
  if (!dir) return;
  for (int n = 1; n <= 4; ++n) {
    CAPTURE(n);
    CHECK(render_case(*dir, n) ==
          dsv4::testing::read_file(*dir + "/test_output_" + std::to_string(n) + ".txt"));
  }
}

TEST_CASE("chat: the completions of cases 1 and 2 parse back to their messages") {
  const auto dir = require_testdata("encoding");
  if (!dir) return;
  SUBCASE("case 1: a tool call, then an answer") {
    const ordered_json messages = case_messages(*dir, 1);
    const std::string prompt = render_case(*dir, 1);
    check_matches_message(parse_completion(first_completion(prompt), ThinkingMode::kThinking),
                          messages[2]);
    check_matches_message(parse_completion(last_completion(prompt), ThinkingMode::kThinking),
                          messages[4]);
  }
  SUBCASE("case 2: the last answer") {
    const ordered_json messages = case_messages(*dir, 2);
    const std::string prompt = render_case(*dir, 2);
    check_matches_message(parse_completion(last_completion(prompt), ThinkingMode::kThinking),
                          messages[4]);
    CHECK(prompt.find("The user said hello") == std::string::npos);  // old reasoning dropped
  }
}

TEST_CASE("chat: reasoning of earlier turns is kept when asked or when tools are present") {
  const auto dir = require_testdata("encoding");
  if (!dir) return;
  const ordered_json messages = case_messages(*dir, 2);
  const std::string kept = render_chat(messages, {.drop_thinking = false});
  CHECK(kept.find(
            "<｜Assistant｜><think>The user said hello, I should greet back.</think>Hi there!") !=
        std::string::npos);
  ordered_json with_tools = messages;
  with_tools[0]["tools"] =
      ordered_json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}});
  CHECK(render_chat(with_tools).find("The user said hello") != std::string::npos);
}

TEST_CASE("chat: max effort opens the prompt in thinking mode only") {
  const ordered_json messages = ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  const std::string max = render_chat(messages, {.effort = ReasoningEffort::kMax});
  CHECK(max == std::string(kBosText) + std::string(kMaxEffortPrefix) +
                   "<｜User｜>hi<｜Assistant｜><think>");
  CHECK(kMaxEffortPrefix.starts_with("Reasoning Effort: Absolute maximum"));
  CHECK(kMaxEffortPrefix.ends_with("\n\n"));
  CHECK(render_chat(messages, {.mode = ThinkingMode::kChat, .effort = ReasoningEffort::kMax}) ==
        std::string(kBosText) + "<｜User｜>hi<｜Assistant｜></think>");
  CHECK(render_chat(messages, {.add_bos = false}) == "<｜User｜>hi<｜Assistant｜><think>");
}

TEST_CASE("chat: tool results follow call order - merge into one user turn - closing tag escaped") {
  const ordered_json messages = ordered_json::parse(R"([
    {"role": "user", "content": "go"},
    {"role": "assistant", "content": "", "tool_calls": [
      {"id": "a", "type": "function", "function": {"name": "first", "arguments": "{}"}},
      {"id": "b", "type": "function", "function": {"name": "second", "arguments": {"x": 1.5}}}]},
    {"role": "tool", "tool_call_id": "b", "content": "B</tool_result>"},
    {"role": "tool", "tool_call_id": "a", "content": [{"type": "text", "text": "A1"}, {"type": "text", "text": "A2"}]},
    {"role": "user", "content": "next"}])");
  const std::string prompt = render_chat(messages, {.mode = ThinkingMode::kChat});
  CHECK(prompt.find("<｜User｜><tool_result>A1\n\nA2</tool_result>\n\n<tool_result>B&lt;/"
                    "tool_result></tool_result>"
                    "\n\nnext<｜Assistant｜></think>") != std::string::npos);
  CHECK(prompt.find(R"(<｜DSML｜parameter name="x" string="false">1.5</｜DSML｜parameter>)") !=
        std::string::npos);
  CHECK(prompt.find("<｜DSML｜invoke name=\"first\">\n\n</｜DSML｜invoke>") != std::string::npos);
}

TEST_CASE("chat: tasks - latest reminders and open assistant turns") {
  const ordered_json messages = ordered_json::parse(R"([
    {"role": "system", "content": "S"},
    {"role": "user", "content": "q", "task": "query"},
    {"role": "assistant", "content": "Q"},
    {"role": "user", "content": "u"},
    {"role": "latest_reminder", "content": "R"},
    {"role": "assistant", "content": "par", "wo_eos": true}])");
  CHECK(render_chat(messages, {.mode = ThinkingMode::kChat}) ==
        "<｜begin▁of▁sentence｜>S<｜User｜>q<｜query｜>Q<｜end▁of▁sentence｜><｜User｜>u<"
        "｜Assistant｜></think>"
        "<｜latest_reminder｜>Rpar");
}

TEST_CASE("chat: response_format and Python's JSON spelling of schemas") {
  const ordered_json messages = ordered_json::parse(R"([
    {"role": "system", "content": "", "response_format": {"z": 1.0, "a": [1e-5, 1e16, 0.0001, 123.456, -0.0],
     "s": "é\u001f\"\\", "t": true, "n": null}}])");
  CHECK(render_chat(messages) ==
        "<｜begin▁of▁sentence｜>\n\n## Response Format:\n\nYou MUST strictly adhere to the "
        "following schema to "
        "reply:\n{\"z\": 1.0, \"a\": [1e-05, 1e+16, 0.0001, 123.456, -0.0], \"s\": "
        "\"é\\u001f\\\"\\\\\", \"t\": true, "
        "\"n\": null}");
  CHECK(python_float_repr(1.0 / 3) == "0.3333333333333333");
  CHECK(python_float_repr(2.5e-300) == "2.5e-300");
  CHECK(python_float_repr(12345678901234567.0) == "1.2345678901234568e+16");
  CHECK(python_float_repr(1234567890123456.0) == "1234567890123456.0");
}

TEST_CASE("chat: malformed messages are refused with the message named") {
  CHECK_THROWS_WITH_AS(render_chat(ordered_json::parse(R"([{"role": "robot"}])")),
                       doctest::Contains("messages[0].role"), dsv4::Error);
  CHECK_THROWS_WITH_AS(
      render_chat(ordered_json::parse(R"([{"role": "user"}, {"role": "developer"}])")),
      doctest::Contains("messages[1]"), dsv4::Error);
  CHECK_THROWS_WITH_AS(render_chat(ordered_json::parse(R"([{"role": "user", "content": 5}])")),
                       doctest::Contains("messages[0].content"), dsv4::Error);
  CHECK_THROWS_WITH_AS(render_chat(ordered_json::parse(R"([{"role": "user", "task": "dance"}])")),
                       doctest::Contains("messages[0].task"), dsv4::Error);
  CHECK_THROWS_AS(render_chat(ordered_json::parse(R"({"role": "user"})")), dsv4::Error);
}
