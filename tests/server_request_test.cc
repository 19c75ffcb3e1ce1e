// Request parsing and prompt rendering of `dsv4 serve`, without a server: what each API's
// fields become, and the 400 each kind of wrong field gets (naming the field).
#include <doctest/doctest.h>

#include <string>

#include "apps/server/anthropic_request.h"
#include "apps/server/api_error.h"
#include "apps/server/chat_request.h"
#include "apps/server/openai_request.h"
#include "render/chat.h"

using namespace dsv4;
using server::ApiError;
using server::ChatRequest;
using server::Json;

namespace {

// The field a refused body names, or "accepted".
template <class Parse>
std::string refused_field(Parse parse, const std::string& body) {
  try {
    parse(server::parse_request_body(body));
  } catch (const ApiError& e) {
    CHECK(server::http_status(e.kind()) == 400);
    return e.param().empty() ? std::string("(body)") : e.param();
  }
  return "accepted";
}

std::string openai_refused(const std::string& body) {
  return refused_field(server::parse_openai_chat, body);
}

std::string anthropic_refused(const std::string& body) {
  return refused_field(server::parse_anthropic_messages, body);
}

}  // namespace

TEST_CASE("malformed or too deeply nested bodies are refused before parsing fields") {
  CHECK(openai_refused("{") == "(body)");
  CHECK(openai_refused("") == "(body)");
  CHECK(openai_refused(std::string(100, '[') + std::string(100, ']')) == "(body)");
  CHECK(openai_refused("[]") == "body");
  CHECK(openai_refused("null") == "body");
  // Numbers beyond double range (a libFuzzer finding: nlohmann reports them as out_of_range,
  // which escaped as a 500).
  CHECK(openai_refused(R"({"messages":[{"role":"user","content":"hi"}],"temperature":999E999})") ==
        "(body)");
}

TEST_CASE("openai chat fields are checked and named") {
  const std::string user = R"("messages":[{"role":"user","content":"hi"}])";
  CHECK(openai_refused("{" + user + "}") == "accepted");
  CHECK(openai_refused(R"({})") == "messages");
  CHECK(openai_refused(R"({"messages":[]})") == "messages");
  CHECK(openai_refused(R"({"messages":{}})") == "messages");
  CHECK(openai_refused(R"({"messages":[{"role":"wizard","content":"x"}]})") == "messages[0].role");
  CHECK(openai_refused(R"({"messages":[{"content":"x"}]})") == "messages[0].role");
  CHECK(openai_refused(R"({"messages":[{"role":"user","content":7}]})") == "messages[0].content");
  CHECK(openai_refused(R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})") ==
        "messages[0].content[0].type");
  CHECK(openai_refused(R"({"messages":[{"role":"user"}]})") == "messages[0].content");
  CHECK(openai_refused("{" + user + R"(,"max_tokens":-5})") == "max_tokens");
  CHECK(openai_refused("{" + user + R"(,"max_completion_tokens":0})") == "max_completion_tokens");
  CHECK(openai_refused("{" + user + R"(,"max_tokens":"many"})") == "max_tokens");
  CHECK(openai_refused("{" + user + R"(,"temperature":"hot"})") == "temperature");
  CHECK(openai_refused("{" + user + R"(,"temperature":3})") == "temperature");
  CHECK(openai_refused("{" + user + R"(,"top_p":1.5})") == "top_p");
  CHECK(openai_refused("{" + user + R"(,"stream":"yes"})") == "stream");
  CHECK(openai_refused("{" + user + R"(,"stop":[""]})") == "stop");
  CHECK(openai_refused("{" + user + R"(,"stop":[1]})") == "stop[0]");
  CHECK(openai_refused("{" + user + R"(,"reasoning_effort":"extreme"})") == "reasoning_effort");
  CHECK(openai_refused("{" + user + R"(,"tools":[{"type":"function"}]})") == "tools[0].function");
  CHECK(openai_refused("{" + user + R"(,"tool_choice":"required"})") == "tool_choice");
  CHECK(
      openai_refused(
          "{" + user +
          R"(,"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"b"}}})") ==
      "tool_choice.function.name");
  CHECK(openai_refused(
            R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]})") ==
        "messages[1].role");
  CHECK(
      openai_refused(
          R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}],"continue_final_message":true})") ==
      "accepted");
}

TEST_CASE("anthropic messages need max_tokens and known blocks") {
  const std::string user = R"("messages":[{"role":"user","content":"hi"}])";
  CHECK(anthropic_refused("{" + user + R"(,"max_tokens":8})") == "accepted");
  CHECK(anthropic_refused("{" + user + "}") == "max_tokens");
  CHECK(anthropic_refused("{" + user + R"(,"max_tokens":-1})") == "max_tokens");
  CHECK(anthropic_refused(R"({"max_tokens":8,"messages":[{"role":"system","content":"x"}]})") ==
        "messages[0].role");
  CHECK(anthropic_refused(R"({"max_tokens":8,"messages":[]})") == "messages");
  CHECK(anthropic_refused(R"({"max_tokens":8,"messages":[{"role":"user","content":[]}]})") ==
        "messages[0].content");
  CHECK(
      anthropic_refused(
          R"({"max_tokens":8,"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]})") ==
      "messages[0].content[0].type");
  CHECK(anthropic_refused("{" + user + R"(,"max_tokens":8,"temperature":1.5})") == "temperature");
  CHECK(anthropic_refused("{" + user + R"(,"max_tokens":8,"thinking":{"type":"sometimes"}})") ==
        "thinking.type");
  CHECK(anthropic_refused("{" + user + R"(,"max_tokens":8,"tools":[{"name":"f"}]})") ==
        "tools[0].input_schema");
}

TEST_CASE("anthropic blocks become encoding_dsv4 messages") {
  const Json body = server::parse_request_body(R"({
    "max_tokens": 8, "system": [{"type": "text", "text": "Be brief."}],
    "messages": [
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Use the tool.", "signature": ""},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
        {"type": "text", "text": "Thanks"}]}],
    "tools": [{"name": "get_weather", "description": "d", "input_schema": {"type": "object"}}]
  })");
  const ChatRequest r = server::parse_anthropic_messages(body);
  REQUIRE(r.messages.size() == 5);
  CHECK(r.messages[0] == Json({{"role", "system"}, {"content", "Be brief."}}));
  CHECK(r.messages[2]["reasoning_content"] == "Use the tool.");
  CHECK(r.messages[2]["tool_calls"][0]["function"]["name"] == "get_weather");
  CHECK(r.messages[3] ==
        Json({{"role", "tool"}, {"tool_call_id", "toolu_1"}, {"content", "sunny"}}));
  CHECK(r.messages[4] == Json({{"role", "user"}, {"content", "Thanks"}}));
  CHECK(r.tools[0]["function"]["parameters"] == Json({{"type", "object"}}));
  CHECK_FALSE(r.continue_final);

  // The rendered prompt is what render_chat makes of the same conversation with the tools
  // on the system message.
  Json messages = r.messages;
  messages[0]["tools"] = r.tools;
  const server::RenderedPrompt prompt = server::render_prompt(r, 4096);
  CHECK(prompt.text == render::render_chat(messages, {}));
  CHECK(prompt.answer_prefix.empty());
}

TEST_CASE("thinking controls follow the request") {
  const auto mode = [](const std::string& extra) {
    const Json body =
        server::parse_request_body(R"({"messages":[{"role":"user","content":"hi"}])" + extra + "}");
    return server::parse_openai_chat(body).thinking;
  };
  CHECK(mode("").mode == render::ThinkingMode::kThinking);
  CHECK(mode(R"(,"reasoning_effort":"none")").mode == render::ThinkingMode::kChat);
  CHECK(mode(R"(,"thinking":{"type":"disabled"})").mode == render::ThinkingMode::kChat);
  CHECK(mode(R"(,"model":"deepseek-chat")").mode == render::ThinkingMode::kChat);
  CHECK(mode(R"(,"reasoning_effort":"max")").effort == render::ReasoningEffort::kMax);
  CHECK(mode(R"(,"reasoning_effort":"low")").mode == render::ThinkingMode::kThinking);

  const Json body = server::parse_request_body(
      R"({"max_tokens":4,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"disabled"}})");
  CHECK(server::parse_anthropic_messages(body).thinking.mode == render::ThinkingMode::kChat);
}

TEST_CASE("maximal effort needs a large context") {
  ChatRequest r;
  r.messages = Json::array({{{"role", "user"}, {"content", "hi"}}});
  r.thinking.effort = render::ReasoningEffort::kMax;
  CHECK(server::render_prompt(r, 4096).text.find(render::kMaxEffortPrefix) == std::string::npos);
  CHECK(server::render_prompt(r, 1 << 20).text.find(render::kMaxEffortPrefix) != std::string::npos);
}

TEST_CASE("a forced tool choice opens the call in the prompt") {
  const Json body = server::parse_request_body(R"({
    "messages": [{"role": "user", "content": "Weather?"}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}}})");
  const server::RenderedPrompt p = server::render_prompt(server::parse_openai_chat(body), 4096);
  CHECK(p.mode == render::ThinkingMode::kChat);
  CHECK(p.answer_prefix == "\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name=\"get_weather\">\n");
  CHECK(p.text.ends_with(std::string(render::kAssistantText) + std::string(render::kThinkEnd) +
                         p.answer_prefix));
  // Parsed as the start of the answer, the prefix is an open call to the named tool.
  const render::ParsedMessage m = render::parse_completion(p.answer_prefix, p.mode);
  REQUIRE(m.tool_calls.size() == 1);
  CHECK(m.tool_calls[0].name == "get_weather");
}

TEST_CASE("a continued assistant message is the answer prefix") {
  const Json body = server::parse_request_body(R"({"max_tokens": 4, "messages": [
    {"role": "user", "content": "Say hi"},
    {"role": "assistant", "content": "Hi th"}], "thinking": {"type": "disabled"}})");
  const ChatRequest r = server::parse_anthropic_messages(body);
  CHECK(r.continue_final);
  const server::RenderedPrompt p = server::render_prompt(r, 4096);
  CHECK(p.answer_prefix == "Hi th");
  CHECK(p.text == render::render_chat(Json::array({{{"role", "user"}, {"content", "Say hi"}}}),
                                      {.mode = render::ThinkingMode::kChat}) +
                      "Hi th");
}
