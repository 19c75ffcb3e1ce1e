// DSML: rendering tool calls as encoding_dsv4 does, the batch parser, and the incremental
// parser, which must reach the batch parser's result however the text is split.
#include <doctest/doctest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "render/chat.h"
#include "render/dsml.h"
#include "render/dsml_stream.h"
#include "render/python_json.h"
#include "render/utf8.h"
#include "tests/support/testdata.h"

using namespace dsv4::render;
using dsv4::testing::require_testdata;
using nlohmann::ordered_json;

namespace {

ParsedMessage stream_parse(const std::vector<std::string_view>& pieces, ThinkingMode mode,
                           std::vector<StreamEvent>* events = nullptr) {
  DsmlStreamParser parser(mode);
  MessageBuilder builder;
  for (std::string_view piece : pieces) {
    const auto e = parser.feed(piece);
    builder.apply(e);
    if (events) events->insert(events->end(), e.begin(), e.end());
  }
  const auto e = parser.finish();
  builder.apply(e);
  if (events) events->insert(events->end(), e.begin(), e.end());
  return builder.message();
}

std::vector<std::string_view> split_at(std::string_view text, std::vector<size_t> cuts) {
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::string_view> pieces;
  size_t last = 0;
  for (size_t cut : cuts) {
    pieces.push_back(text.substr(last, cut - last));
    last = cut;
  }
  pieces.push_back(text.substr(last));
  return pieces;
}

std::vector<std::string_view> bytewise(std::string_view text) {
  std::vector<std::string_view> pieces;
  for (size_t k = 0; k < text.size(); ++k) pieces.push_back(text.substr(k, 1));
  return pieces;
}

// The batch result, and the same from the stream split in two at every byte boundary,
// byte by byte, and at random cuts.
ParsedMessage check_stream_agrees(std::string_view text, ThinkingMode mode, std::mt19937_64& rng,
                                  bool every_boundary = true) {
  const ParsedMessage batch = parse_completion(text, mode);
  if (every_boundary) {
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      CAPTURE(cut);
      REQUIRE(stream_parse(split_at(text, {cut}), mode) == batch);
    }
    REQUIRE(stream_parse(bytewise(text), mode) == batch);
  }
  for (int n = 0; n < 8; ++n) {
    std::vector<size_t> cuts(rng() % 6);
    for (size_t& c : cuts) c = text.empty() ? 0 : rng() % (text.size() + 1);
    REQUIRE(stream_parse(split_at(text, cuts), mode) == batch);
  }
  return batch;
}

// Completions of the official cases (the assistant turns the prompts contain).
std::vector<std::string> official_completions(const std::string& dir) {
  std::vector<std::string> out;
  for (int n : {1, 2}) {
    ordered_json input = ordered_json::parse(
        dsv4::testing::read_file(dir + "/test_input_" + std::to_string(n) + ".json"));
    if (input.is_object()) {
      ordered_json messages = input.at("messages");
      messages[0]["tools"] = input.at("tools");
      input = messages;
    }
    const std::string prompt = render_chat(input);
    constexpr std::string_view kMarker = "<｜Assistant｜><think>";
    for (size_t at = prompt.find(kMarker); at != std::string::npos;
         at = prompt.find(kMarker, at + 1)) {
      const size_t start = at + kMarker.size();
      const size_t end = prompt.find("<｜User｜>", start);
      out.push_back(
          prompt.substr(start, end == std::string::npos ? std::string::npos : end - start));
    }
  }
  return out;
}

std::string random_word(std::mt19937_64& rng, bool allow_markup_chars) {
  static const std::vector<std::string> kPieces = {"a",    "Beijing", " ",  "\n", "\n\n", "22°C",
                                                   "你好", "\"",      "\\", "<",  ">",    "&amp;",
                                                   "\t",   "{",       "}",  "é",  "🚀",    "0"};
  std::string out;
  for (int n = 1 + static_cast<int>(rng() % 6); n > 0; --n) {
    const std::string& p = kPieces[rng() % kPieces.size()];
    if (!allow_markup_chars && (p == "\"" || p == "<")) continue;
    out += p;
  }
  return out;
}

ordered_json random_value(std::mt19937_64& rng, int depth = 0) {
  switch (rng() % (depth > 1 ? 5 : 7)) {
    case 0:
    case 1:
      return random_word(rng, true);
    case 2:
      return static_cast<int64_t>(rng() % 2000) - 1000;
    case 3:
      return (rng() % 2) != 0;
    case 4:
      return static_cast<double>(rng() % 100000) / 64.0;
    case 5: {
      ordered_json a = ordered_json::array();
      for (int n = static_cast<int>(rng() % 4); n > 0; --n)
        a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      ordered_json o = ordered_json::object();
      for (int n = static_cast<int>(rng() % 4); n > 0; --n)
        o[std::string(1, static_cast<char>('a' + rng() % 9))] = random_value(rng, depth + 1);
      return o;
    }
  }
}

}  // namespace

TEST_CASE("dsml: rendered tool calls are the block of the official case 1") {
  const auto dir = require_testdata("encoding");
  if (!dir) return;
  const ToolCall call{"get_weather", R"({"location": "Beijing", "unit": "celsius"})"};
  const std::string block = render_tool_calls(std::vector<ToolCall>{call});
  CHECK(block.starts_with("\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name=\"get_weather\">\n"));
  CHECK(
      dsv4::testing::read_file(*dir + "/test_output_1.txt").find(block + "<｜end▁of▁sentence｜>") !=
      std::string::npos);
  CHECK(render_tool_calls({}).empty());
}

TEST_CASE("dsml: official completions parse the same in one piece and split at every byte") {
  const auto dir = require_testdata("encoding");
  if (!dir) return;
  std::mt19937_64 rng(3);
  const auto completions = official_completions(*dir);
  REQUIRE(completions.size() == 3);  // case 1: tool call and answer; case 2: the last answer
  for (const std::string& text : completions) {
    CAPTURE(text);
    const ParsedMessage m = check_stream_agrees(text, ThinkingMode::kThinking, rng);
    CHECK_FALSE(m.reasoning_content.empty());
    CHECK(m.content.find("｜DSML｜") == std::string::npos);
    CHECK(m.content.find("<｜end▁of▁sentence｜>") == std::string::npos);
  }
  const ParsedMessage call = parse_completion(completions[0], ThinkingMode::kThinking);
  REQUIRE(call.tool_calls.size() == 1);
  CHECK(call.tool_calls[0].arguments == R"({"location": "Beijing", "unit": "celsius"})");
}

TEST_CASE("dsml: stream events never carry markup and arrive in order") {
  const std::string text =
      "<think>plan</think>Sure.\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name=\"a\">\n"
      "<｜DSML｜parameter name=\"q\" string=\"true\">x \"y\"</｜DSML｜parameter>\n"
      "<｜DSML｜parameter name=\"n\" string=\"false\">[1, "
      "2]</｜DSML｜parameter>\n</｜DSML｜invoke>\n"
      "<｜DSML｜invoke "
      "name=\"b\">\n</｜DSML｜invoke>\n</｜DSML｜tool_calls><｜end▁of▁sentence｜>ignored";
  std::vector<StreamEvent> events;
  const ParsedMessage m = stream_parse(bytewise(text), ThinkingMode::kThinking, &events);
  CHECK(m.reasoning_content == "plan");
  CHECK(m.content == "Sure.");
  REQUIRE(m.tool_calls.size() == 2);
  CHECK(m.tool_calls[0] == ToolCall{"a", R"({"q": "x \"y\"", "n": [1, 2]})"});
  CHECK(m.tool_calls[1] == ToolCall{"b", "{}"});
  for (const StreamEvent& e : events) {
    if (e.kind == StreamEvent::Kind::kContent || e.kind == StreamEvent::Kind::kReasoning) {
      CHECK(e.text.find('<') == std::string::npos);
      CHECK(e.text.find('\n') == std::string::npos);
    }
  }
  size_t starts = 0, ends = 0;
  for (const StreamEvent& e : events) {
    if (e.kind == StreamEvent::Kind::kToolCallStart) CHECK(e.call == starts++);
    if (e.kind == StreamEvent::Kind::kToolCallEnd) CHECK(e.call == ends++);
  }
  CHECK(starts == 2);
  CHECK(ends == 2);
}

TEST_CASE("dsml: random messages round-trip through render and both parsers") {
  std::mt19937_64 rng(11);
  for (int n = 0; n < 400; ++n) {
    ParsedMessage original;
    original.reasoning_content = random_word(rng, true);
    original.content = rng() % 3 == 0 ? "" : random_word(rng, true);
    for (int k = static_cast<int>(rng() % 3); k > 0; --k) {
      ordered_json args = ordered_json::object();
      for (int p = static_cast<int>(rng() % 4); p > 0; --p)
        args[random_word(rng, false)] = random_value(rng);
      original.tool_calls.push_back({random_word(rng, false), python_json_dumps(args)});
    }
    const std::string text = original.reasoning_content + "</think>" + original.content +
                             render_tool_calls(original.tool_calls) + "<｜end▁of▁sentence｜>";
    CAPTURE(text);
    CHECK(check_stream_agrees(text, ThinkingMode::kThinking, rng, n < 40) == original);
    ParsedMessage chat = original;
    chat.reasoning_content.clear();
    const std::string chat_text = text.substr(text.find("</think>") + 8);
    CHECK(check_stream_agrees(chat_text, ThinkingMode::kChat, rng, false) == chat);
  }
}

TEST_CASE("dsml: malformed markup degrades to content - truncation keeps what arrived") {
  std::mt19937_64 rng(5);
  const auto parse = [&](std::string_view text, ThinkingMode mode = ThinkingMode::kChat) {
    return check_stream_agrees(text, mode, rng);
  };
  SUBCASE("garbage inside the block") {
    const ParsedMessage m = parse("hi\n\n<｜DSML｜tool_calls>\nnot a tag</｜DSML｜tool_calls>");
    CHECK(m.content == "hi\nnot a tag</｜DSML｜tool_calls>");
    CHECK(m.tool_calls.empty());
  }
  SUBCASE("a bad parameter header ends the call with what it has") {
    const ParsedMessage m = parse(
        "<｜DSML｜tool_calls><｜DSML｜invoke name=\"f\">\n<｜DSML｜parameter "
        "name=\"a\">1</｜DSML｜parameter>"
        "<｜DSML｜parameter nome=\"b\">2</｜DSML｜parameter>");
    REQUIRE(m.tool_calls.size() == 1);
    CHECK(m.tool_calls[0].arguments == R"({"a": "1"})");
    CHECK(m.content == "<｜DSML｜parameter nome=\"b\">2</｜DSML｜parameter>");
  }
  SUBCASE("text cut off inside a value") {
    const ParsedMessage m = parse(
        "<｜DSML｜tool_calls><｜DSML｜invoke name=\"f\"><｜DSML｜parameter name=\"a\" "
        "string=\"true\">par");
    REQUIRE(m.tool_calls.size() == 1);
    CHECK(m.tool_calls[0].arguments == R"({"a": "par"})");
    CHECK(m.content.empty());
  }
  SUBCASE("text cut off inside a tag") {
    const ParsedMessage m = parse("ok\n\n<｜DSML｜tool_calls>\n<｜DSML｜invo");
    CHECK(m.content == "ok\n<｜DSML｜invo");
    CHECK(m.tool_calls.empty());
  }
  SUBCASE("a non-string value that is not JSON becomes a string") {
    const ParsedMessage m = parse(
        "<｜DSML｜tool_calls><｜DSML｜invoke name=\"f\"><｜DSML｜parameter name=\"a\" "
        "string=\"false\">not json"
        "</｜DSML｜parameter></｜DSML｜invoke></｜DSML｜tool_calls>");
    REQUIRE(m.tool_calls.size() == 1);
    CHECK(m.tool_calls[0].arguments == R"({"a": "not json"})");
  }
  SUBCASE("reasoning without an end, and end of sentence inside reasoning") {
    CHECK(parse("<think>still thinking", ThinkingMode::kThinking).reasoning_content ==
          "still thinking");
    const ParsedMessage m = parse("idea<｜end▁of▁sentence｜>after", ThinkingMode::kThinking);
    CHECK(m.reasoning_content == "idea");
    CHECK(m.content.empty());
  }
  SUBCASE("a partial marker at the end is text") {
    CHECK(parse("a\n\n<｜DSML｜tool_ca").content == "a\n\n<｜DSML｜tool_ca");
    CHECK(parse("x</thi", ThinkingMode::kThinking).reasoning_content == "x</thi");
    CHECK(parse("<thi", ThinkingMode::kThinking).reasoning_content == "<thi");
  }
}

TEST_CASE("dsml: markup soup gives the same result streamed and in one piece") {
  static const std::vector<std::string> kFragments = {"<｜DSML｜tool_calls>",
                                                      "</｜DSML｜tool_calls>",
                                                      "<｜DSML｜invoke",
                                                      "</｜DSML｜invoke>",
                                                      "<｜DSML｜parameter",
                                                      "</｜DSML｜parameter>",
                                                      " name=\"x\"",
                                                      " string=\"true\"",
                                                      " string=\"false\"",
                                                      " string=\"maybe\"",
                                                      ">",
                                                      "\n",
                                                      "\n\n",
                                                      " ",
                                                      "text",
                                                      "[1, 2]",
                                                      "{\"a\":",
                                                      "\"",
                                                      "<",
                                                      "</think>",
                                                      "<think>",
                                                      "<｜end▁of▁sentence｜>",
                                                      "｜DSML｜",
                                                      "é",
                                                      "\xe4\xbd",
                                                      "\xa0",
                                                      "\xff"};
  std::mt19937_64 rng(17);
  for (int n = 0; n < 3000; ++n) {
    std::string text;
    for (int k = static_cast<int>(rng() % 24); k > 0; --k)
      text += kFragments[rng() % kFragments.size()];
    CAPTURE(text);
    for (ThinkingMode mode : {ThinkingMode::kChat, ThinkingMode::kThinking}) {
      const ParsedMessage m = check_stream_agrees(text, mode, rng, n < 300);
      for (const ToolCall& call : m.tool_calls) CHECK(nlohmann::json::accept(call.arguments));
    }
  }
}

TEST_CASE("dsml: random bytes into both parsers never crash") {
  std::mt19937_64 rng(23);
  for (int n = 0; n < 2000; ++n) {
    std::string text(rng() % 200, '\0');
    for (char& c : text) c = static_cast<char>(rng());
    for (ThinkingMode mode : {ThinkingMode::kChat, ThinkingMode::kThinking}) {
      const ParsedMessage batch = parse_completion(text, mode);
      std::vector<size_t> cuts(rng() % 8);
      for (size_t& c : cuts) c = rng() % (text.size() + 1);
      CHECK(stream_parse(split_at(text, cuts), mode) == batch);
      (void)message_to_json(batch).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
    }
  }
}
