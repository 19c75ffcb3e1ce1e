// `dsv4 serve` as a process on a tiny random model, spoken to over HTTP: what clients get
// back (same text streamed or not, tool calls, usage), how it holds up against bad requests,
// clients that leave, a full queue and many connections at once, and that a conversation
// that grows by one turn prefills only that turn.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "render/prompt_format.h"
#include "tests/server_harness.h"
#include "tests/support/process.h"
#include "tests/support/synth_model.h"
#include "tests/support/testdata.h"

using namespace dsv4;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::RawConnection;
using testing::ServeProcess;

namespace {

const std::vector<std::string> kContext = {"--ctx", "4096"};

json post(const ServeProcess& server, const std::string& path, const json& body,
          int expected_status = 200) {
  const auto response = server.client()->Post(path, body.dump(), "application/json");
  REQUIRE(response);
  CHECK_MESSAGE(response->status == expected_status, response->body);
  return json::parse(response->body);
}

// The data lines of a server-sent event stream, and the names of its events.
struct Sse {
  std::vector<json> data;
  std::vector<std::string> events;
  bool done = false;  // OpenAI's "data: [DONE]"
};

Sse parse_sse(const std::string& body) {
  Sse sse;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with("event: ")) sse.events.push_back(line.substr(7));
    if (!line.starts_with("data: ")) continue;
    if (line == "data: [DONE]")
      sse.done = true;
    else
      sse.data.push_back(json::parse(line.substr(6)));
  }
  return sse;
}

Sse post_stream(const ServeProcess& server, const std::string& path, json body) {
  body["stream"] = true;
  const auto response = server.client()->Post(path, body.dump(), "application/json");
  REQUIRE(response);
  REQUIRE_MESSAGE(response->status == 200, response->body);
  CHECK(response->get_header_value("Content-Type") == "text/event-stream");
  return parse_sse(response->body);
}

// The tool-call markup that must never reach content or text deltas.
bool has_dsml_markup(const std::string& text) {
  for (std::string_view tag :
       {render::kToolCallsOpen, render::kToolCallsClose, render::kInvokeOpen, render::kInvokeClose,
        render::kParameterOpen, render::kParameterClose})
    if (text.find(tag) != std::string::npos) return true;
  return false;
}

struct Reply {
  std::string reasoning, content;
};

// What OpenAI chat chunks add up to; checks each delta on the way.
Reply openai_stream_text(const Sse& sse) {
  Reply r;
  for (const json& chunk : sse.data) {
    if (chunk["choices"].empty()) continue;
    const json& delta = chunk["choices"][0]["delta"];
    if (delta.contains("content")) {
      CHECK_FALSE(has_dsml_markup(delta["content"].get<std::string>()));
      r.content += delta["content"].get<std::string>();
    }
    if (delta.contains("reasoning_content"))
      r.reasoning += delta["reasoning_content"].get<std::string>();
  }
  return r;
}

Reply anthropic_stream_text(const Sse& sse) {
  Reply r;
  for (const json& e : sse.data) {
    if (e["type"] != "content_block_delta") continue;
    const json& delta = e["delta"];
    if (delta["type"] == "text_delta") {
      CHECK_FALSE(has_dsml_markup(delta["text"].get<std::string>()));
      r.content += delta["text"].get<std::string>();
    }
    if (delta["type"] == "thinking_delta") r.reasoning += delta["thinking"].get<std::string>();
  }
  return r;
}

Reply anthropic_text(const json& message) {
  Reply r;
  for (const json& block : message["content"]) {
    if (block["type"] == "text") r.content += block["text"].get<std::string>();
    if (block["type"] == "thinking") r.reasoning += block["thinking"].get<std::string>();
  }
  return r;
}

json user_turn(const std::string& text) {
  return json::array({{{"role", "user"}, {"content", text}}});
}

// About `n` tokens of prompt text (the tiny model's vocabulary spends about three tokens on
// each "hello "): enough to make prefill take a while.
std::string long_text(int n) {
  std::string text;
  for (int i = 0; i < n / 3; ++i) text += "hello ";
  return text;
}

}  // namespace

TEST_CASE("serve reports health and the loaded model") {
  const std::string model = testing::synthetic_model();
  ServeProcess server(model, kContext);
  const auto health = server.client()->Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(json::parse(health->body)["status"] == "ok");
  const auto models = server.client()->Get("/v1/models");
  REQUIRE(models);
  const json list = json::parse(models->body);
  CHECK(list["object"] == "list");
  REQUIRE(list["data"].size() == 1);
  CHECK(list["data"][0]["id"] == std::filesystem::path(model).stem().string());
  httplib::Headers anthropic = {{"anthropic-version", "2023-06-01"}};
  const auto anthropic_models = server.client()->Get("/v1/models", anthropic);
  REQUIRE(anthropic_models);
  CHECK(json::parse(anthropic_models->body)["data"][0]["type"] == "model");
  CHECK(server.stop() == 0);
}

TEST_CASE("requests while the model loads get 503") {
  // The server listens before it loads; a large vocabulary makes loading take a moment.
  const std::string model = testing::scratch_dir() + "/synth-serve-large-vocab.gguf";
  if (!std::filesystem::exists(model) ||
      std::filesystem::last_write_time(model) <
          std::filesystem::last_write_time(testing::dsv4_binary())) {
    const testing::ProcessResult made = testing::run_process(
        {testing::dsv4_binary(), "synth", model + ".tmp", "--vocab", "129280"});
    REQUIRE_MESSAGE(made.status == 0, made.err);
    std::filesystem::rename(model + ".tmp", model);
  }
  ServeProcess server(model, kContext, /*wait_until_ready=*/false);
  auto client = server.client();
  const std::string body = json{{"messages", user_turn("hi")}, {"max_tokens", 1}}.dump();
  int loading = 0;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto health = client->Get("/health");
    const auto chat = client->Post("/v1/chat/completions", body, "application/json");
    REQUIRE(health);
    REQUIRE(chat);
    if (chat->status == 200) break;
    // Loading: both say so, in their own shapes.
    CHECK(chat->status == 503);
    CHECK(json::parse(chat->body)["error"]["code"] == "model_not_ready");
    if (health->status == 503) CHECK(json::parse(health->body)["status"] == "loading");
    ++loading;
    std::this_thread::sleep_for(5ms);
  }
  MESSAGE(loading, " requests answered while loading");
  const auto health = client->Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
}

TEST_CASE("streamed and whole responses carry the same text as dsv4 run") {
  const std::string model = testing::synthetic_model();
  ServeProcess server(model, kContext);
  // dsv4 run renders the prompt as one user turn and samples with the same defaults, so the
  // same seed gives the same tokens.
  const testing::ProcessResult run =
      testing::run_process({testing::dsv4_binary(), "run", "-m", model, "-p", "Tell me a story",
                            "--seed", "11", "-n", "48", "--ctx", "4096", "--json"});
  REQUIRE_MESSAGE(run.status == 0, run.err);
  const json expected = json::parse(run.out);

  const json body = {{"messages", user_turn("Tell me a story")}, {"seed", 11}, {"max_tokens", 48}};
  const json whole = post(server, "/v1/chat/completions", body);
  const json& message = whole["choices"][0]["message"];
  CHECK(message["content"] == expected["text"]);
  CHECK(message.value("reasoning_content", "") == expected["reasoning"]);
  CHECK_FALSE(has_dsml_markup(message["content"].get<std::string>()));
  CHECK(whole["usage"]["completion_tokens"] == expected["tokens"].size());
  CHECK(whole["usage"]["prompt_tokens"] == expected["prompt_tokens"]);

  json streaming_body = body;
  streaming_body["stream_options"] = {{"include_usage", true}};
  const Sse sse = post_stream(server, "/v1/chat/completions", streaming_body);
  const Reply streamed = openai_stream_text(sse);
  CHECK(streamed.content == expected["text"]);
  CHECK(streamed.reasoning == expected["reasoning"]);
  CHECK(sse.done);
  REQUIRE_FALSE(sse.data.empty());
  CHECK(sse.data.back()["usage"]["completion_tokens"] == expected["tokens"].size());

  // Anthropic has no seed: greedy sampling makes both runs alike.
  const json anthropic_body = {
      {"messages", user_turn("Tell me a story")}, {"max_tokens", 32}, {"temperature", 0}};
  const Reply whole_reply = anthropic_text(post(server, "/v1/messages", anthropic_body));
  const Sse anthropic_sse = post_stream(server, "/v1/messages", anthropic_body);
  const Reply streamed_reply = anthropic_stream_text(anthropic_sse);
  CHECK(streamed_reply.content == whole_reply.content);
  CHECK(streamed_reply.reasoning == whole_reply.reasoning);
  REQUIRE(anthropic_sse.events.size() >= 3);
  CHECK(anthropic_sse.events.front() == "message_start");
  CHECK(anthropic_sse.events[anthropic_sse.events.size() - 2] == "message_delta");
  CHECK(anthropic_sse.events.back() == "message_stop");
}

TEST_CASE("a forced tool call comes back as a tool call") {
  ServeProcess server(testing::synthetic_model(), kContext);
  const json tools =
      json::array({{{"type", "function"},
                    {"function",
                     {{"name", "get_weather"},
                      {"parameters",
                       {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}});
  json body = {{"messages", user_turn("Weather in Paris?")},
               {"tools", tools},
               {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}},
               {"max_tokens", 16},
               {"seed", 5}};
  const json whole = post(server, "/v1/chat/completions", body);
  const json& message = whole["choices"][0]["message"];
  REQUIRE(message["tool_calls"].size() >= 1);
  CHECK(message["tool_calls"][0]["function"]["name"] == "get_weather");
  CHECK(json::parse(message["tool_calls"][0]["function"]["arguments"].get<std::string>())
            .is_object());
  CHECK_FALSE(
      has_dsml_markup(message["content"].is_null() ? "" : message["content"].get<std::string>()));

  // Streamed: the name arrives first, then the arguments, which add up to the same object.
  const Sse sse = post_stream(server, "/v1/chat/completions", body);
  std::string name, arguments;
  for (const json& chunk : sse.data) {
    const json& delta = chunk["choices"][0]["delta"];
    if (!delta.contains("tool_calls")) continue;
    const json& call = delta["tool_calls"][0];
    if (call["function"].contains("name")) {
      CHECK(arguments.empty());
      name = call["function"]["name"];
    }
    arguments += call["function"]["arguments"].get<std::string>();
  }
  CHECK(name == "get_weather");
  CHECK(arguments == message["tool_calls"][0]["function"]["arguments"]);

  // A prompt that ends inside a string argument: the model's words are that argument.
  json prefilled = {
      {"messages",
       {{{"role", "user"}, {"content", "Weather in Paris?"}},
        {{"role", "assistant"},
         {"content",
          "\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name=\"get_weather\">\n<｜DSML｜parameter "
          "name=\"city\" string=\"true\">Par"}}}},
      {"continue_final_message", true},
      {"tools", tools},
      {"reasoning_effort", "none"},
      {"max_tokens", 6},
      {"seed", 3}};
  const json continued = post(server, "/v1/chat/completions", prefilled);
  const json& calls = continued["choices"][0]["message"]["tool_calls"];
  REQUIRE(calls.size() == 1);
  const json args = json::parse(calls[0]["function"]["arguments"].get<std::string>());
  REQUIRE(args.contains("city"));
  CHECK(args["city"].get<std::string>().starts_with("Par"));
}

TEST_CASE("stop sequences end the text where they first occur") {
  ServeProcess server(testing::synthetic_model(), kContext);
  json body = {{"messages", user_turn("Count")},
               {"max_tokens", 40},
               {"seed", 21},
               {"reasoning_effort", "none"}};
  const std::string free_text =
      post(server, "/v1/chat/completions", body)["choices"][0]["message"]["content"];
  // A stop string taken from the middle of the free run: ASCII letters, so that it is whole
  // characters.
  std::string stop;
  for (size_t i = 4; i + 2 <= free_text.size() && stop.empty(); ++i)
    if (std::isalpha(static_cast<unsigned char>(free_text[i])) &&
        std::isalpha(static_cast<unsigned char>(free_text[i + 1])))
      stop = free_text.substr(i, 2);
  if (stop.empty()) return;  // nothing usable in this run
  body["stop"] = json::array({stop});
  const json stopped = post(server, "/v1/chat/completions", body);
  CHECK(stopped["choices"][0]["message"]["content"] == free_text.substr(0, free_text.find(stop)));
  CHECK(stopped["choices"][0]["finish_reason"] == "stop");

  const json anthropic = post(server, "/v1/messages",
                              {{"messages", user_turn("Count")},
                               {"max_tokens", 40},
                               {"temperature", 0},
                               {"thinking", {{"type", "disabled"}}}});
  const std::string greedy = anthropic_text(anthropic).content;
  std::string greedy_stop;
  for (size_t i = 2; i + 1 <= greedy.size() && greedy_stop.empty(); ++i)
    if (std::isalpha(static_cast<unsigned char>(greedy[i]))) greedy_stop = greedy.substr(i, 1);
  if (greedy_stop.empty()) return;
  const json anthropic_stopped = post(server, "/v1/messages",
                                      {{"messages", user_turn("Count")},
                                       {"max_tokens", 40},
                                       {"temperature", 0},
                                       {"stop_sequences", {greedy_stop}},
                                       {"thinking", {{"type", "disabled"}}}});
  CHECK(anthropic_text(anthropic_stopped).content == greedy.substr(0, greedy.find(greedy_stop)));
  CHECK(anthropic_stopped["stop_reason"] == "stop_sequence");
  CHECK(anthropic_stopped["stop_sequence"] == greedy_stop);
}

TEST_CASE("a second turn prefills only its new tokens") {
  ServeProcess server(testing::synthetic_model(), kContext);
  // A reply the client can send back byte for byte: the random model may produce bytes that
  // are not UTF-8, which JSON can only carry as U+FFFD; try seeds until one gives clean text.
  json first_body, first;
  std::string reply;
  for (int seed = 1; seed <= 64 && reply.empty(); ++seed) {
    first_body = {{"messages", user_turn("Hello there")},
                  {"max_tokens", 8},
                  {"seed", seed},
                  {"reasoning_effort", "none"}};
    first = post(server, "/v1/chat/completions", first_body);
    const std::string content = first["choices"][0]["message"]["content"];
    if (!content.empty() && content.find("\xEF\xBF\xBD") == std::string::npos) reply = content;
  }
  REQUIRE_FALSE(reply.empty());
  json second_body = first_body;
  second_body["messages"].push_back({{"role", "assistant"}, {"content", reply}});
  second_body["messages"].push_back({{"role", "user"}, {"content", "And then?"}});
  const json second = post(server, "/v1/chat/completions", second_body);

  // The session holds the first prompt and reply (all of it after EOS; after a length stop,
  // all but the last token, which was never evaluated).
  const int64_t held = first["usage"]["prompt_tokens"].get<int64_t>() +
                       first["usage"]["completion_tokens"].get<int64_t>() -
                       (first["choices"][0]["finish_reason"] == "length" ? 1 : 0);
  const int64_t cached = second["usage"]["prompt_tokens_details"]["cached_tokens"];
  const int64_t prompt = second["usage"]["prompt_tokens"];
  CHECK(cached == held);
  CHECK(prompt > cached);
  // The new part is the closing EOS, the user turn and the assistant opening: a few tokens.
  CHECK(prompt - cached < 16);
  std::ostringstream line;
  line << "(" << prompt - cached << " prefilled, " << cached << " cached)";
  CHECK_MESSAGE(server.wait_for_log(line.str(), 5s), server.log());

  // Anthropic reports the same as cache reads.
  json messages = second_body["messages"];
  messages.push_back(
      {{"role", "assistant"}, {"content", second["choices"][0]["message"]["content"]}});
  messages.push_back({{"role", "user"}, {"content", "Fine"}});
  const json third =
      post(server, "/v1/messages",
           {{"messages", messages}, {"max_tokens", 4}, {"thinking", {{"type", "disabled"}}}});
  CHECK(third["usage"]["cache_read_input_tokens"].get<int64_t>() > 0);
}

TEST_CASE("bad requests get errors in each api's shape and the server carries on") {
  ServeProcess server(testing::synthetic_model(), kContext);
  auto client = server.client();
  struct Case {
    const char* path;
    std::string body;
    int status;
    const char* field;  // named in the message
  };
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::vector<Case> cases = {
      {"/v1/chat/completions", "{not json", 400, "JSON"},
      {"/v1/chat/completions", deep, 400, "nests"},
      {"/v1/chat/completions", R"({"messages":[]})", 400, "messages"},
      {"/v1/chat/completions", R"({"messages":[{"role":"robot","content":"x"}]})", 400,
       "messages[0].role"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"max_tokens":-3})",
       400, "max_tokens"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"top_k":"many"})",
       400, "top_k"},
      {"/v1/messages", R"({"messages":[{"role":"user","content":"x"}]})", 400, "max_tokens"},
      {"/v1/messages", R"({"max_tokens":4,"messages":[{"role":"user","content":{}}]})", 400,
       "messages[0].content"},
      {"/v1/completions", R"({"prompt":7})", 400, "prompt"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body.substr(0, 80));
    const auto response = client->Post(c.path, c.body, "application/json");
    REQUIRE(response);
    CHECK(response->status == c.status);
    const json error = json::parse(response->body);
    if (std::string(c.path) == "/v1/messages") {
      CHECK(error["type"] == "error");
      CHECK(error["error"]["type"] == "invalid_request_error");
      CHECK(error["error"]["message"].get<std::string>().find(c.field) != std::string::npos);
    } else {
      CHECK(error["error"]["type"] == "invalid_request_error");
      CHECK(error["error"]["message"].get<std::string>().find(c.field) != std::string::npos);
    }
  }
  const auto missing = client->Get("/v1/nothing");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  const auto wrong_method = client->Get("/v1/chat/completions");
  REQUIRE(wrong_method);
  CHECK(wrong_method->status == 405);
  CHECK(wrong_method->get_header_value("Allow") == "POST");

  // 10 MB of text is refused for not fitting the context, quickly, before tokenization.
  const json huge = {{"messages", user_turn(std::string(10 << 20, 'x'))}};
  const auto started = std::chrono::steady_clock::now();
  const auto big = client->Post("/v1/chat/completions", huge.dump(), "application/json");
  REQUIRE(big);
  CHECK(big->status == 400);
  CHECK(std::chrono::steady_clock::now() - started < 10s);

  // A prompt that is too long for the context is refused with its token count.
  const auto too_long =
      client->Post("/v1/chat/completions", json{{"messages", user_turn(long_text(6000))}}.dump(),
                   "application/json");
  REQUIRE(too_long);
  CHECK(too_long->status == 400);
  CHECK(too_long->body.find("context holds 4096") != std::string::npos);

  const json ok = post(server, "/v1/chat/completions",
                       {{"messages", user_turn("still there?")}, {"max_tokens", 2}});
  CHECK(ok["object"] == "chat.completion");
}

TEST_CASE("bodies over the limit get 413") {
  ServeProcess server(testing::synthetic_model(), {"--ctx", "4096", "--max-body-mb", "1"});
  RawConnection connection(server.port());
  const std::string body = json{{"messages", user_turn(std::string(2 << 20, 'x'))}}.dump();
  connection.send(testing::http_post("/v1/messages", body, server.port()));
  connection.read_all(10s);
  CHECK(connection.received().starts_with("HTTP/1.1 413"));
  CHECK(connection.received().find("request_too_large") != std::string::npos);
  post(server, "/v1/chat/completions", {{"messages", user_turn("hi")}, {"max_tokens", 2}});
}

TEST_CASE("an api key is required when set") {
  ServeProcess server(testing::synthetic_model(), {"--ctx", "4096", "--api-key", "s3cret"});
  auto client = server.client();
  const std::string body = json{{"messages", user_turn("hi")}, {"max_tokens", 2}}.dump();
  const auto none = client->Post("/v1/chat/completions", body, "application/json");
  REQUIRE(none);
  CHECK(none->status == 401);
  CHECK(json::parse(none->body)["error"]["type"] == "authentication_error");
  const auto wrong = client->Post("/v1/chat/completions", {{"Authorization", "Bearer s3cre"}}, body,
                                  "application/json");
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  const auto bearer = client->Post("/v1/chat/completions", {{"Authorization", "Bearer s3cret"}},
                                   body, "application/json");
  REQUIRE(bearer);
  CHECK(bearer->status == 200);
  const auto anthropic = client->Post("/v1/messages", {{"x-api-key", "s3cret"}},
                                      json{{"messages", user_turn("hi")}, {"max_tokens", 2}}.dump(),
                                      "application/json");
  REQUIRE(anthropic);
  CHECK(anthropic->status == 200);
  const auto health = client->Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
}

TEST_CASE("cors headers are sent only with the flag") {
  {
    ServeProcess server(testing::synthetic_model(), kContext);
    const auto response = server.client()->Get("/v1/models", {{"Origin", "http://x.test"}});
    REQUIRE(response);
    CHECK_FALSE(response->has_header("Access-Control-Allow-Origin"));
  }
  ServeProcess server(testing::synthetic_model(), {"--ctx", "4096", "--cors"});
  const auto response = server.client()->Get("/v1/models", {{"Origin", "http://x.test"}});
  REQUIRE(response);
  CHECK(response->get_header_value("Access-Control-Allow-Origin") == "*");
  const auto preflight = server.client()->Options(
      "/v1/chat/completions", {{"Origin", "http://x.test"},
                               {"Access-Control-Request-Method", "POST"},
                               {"Access-Control-Request-Headers", "authorization,content-type"}});
  REQUIRE(preflight);
  CHECK(preflight->status == 204);
  CHECK(preflight->get_header_value("Access-Control-Allow-Headers") ==
        "authorization,content-type");
}

TEST_CASE("a client that leaves mid-stream cancels its generation") {
  ServeProcess server(testing::synthetic_model(), kContext);
  // A long prompt keeps the worker in prefill long after the stream has started.
  RawConnection connection(server.port());
  const json body = {{"messages", user_turn(long_text(3000))}, {"stream", true}};
  connection.send(testing::http_post("/v1/chat/completions", body.dump(), server.port()));
  REQUIRE(connection.read_until("data: ", 30s));
  connection.close();
  REQUIRE_MESSAGE(server.wait_for_log("finish cancelled", 30s), server.log());
  // The match refers into the log's text, which must outlive it.
  const std::string log = server.log();
  std::smatch m;
  static const std::regex line(R"(#1 \S+: (\d+) prompt tokens \((\d+) prefilled)");
  REQUIRE(std::regex_search(log, m, line));
  CHECK(std::stoll(m[2]) < std::stoll(m[1]));  // stopped during prefill

  const json ok = post(server, "/v1/messages", {{"messages", user_turn("hi")}, {"max_tokens", 2}});
  CHECK(ok["type"] == "message");
}

TEST_CASE("a long prefill sends keep-alive comments") {
  ServeProcess server(testing::synthetic_model(), {"--ctx", "4096", "--sse-keepalive", "0.05"});
  RawConnection connection(server.port());
  const json body = {{"messages", user_turn(long_text(1500))}, {"stream", true}, {"max_tokens", 2}};
  connection.send(testing::http_post("/v1/chat/completions", body.dump(), server.port()));
  REQUIRE(connection.read_until("data: [DONE]", 60s));
  const std::string& text = connection.received();
  const size_t first_data = text.find("data: ");
  const size_t keepalive = text.find(": keep-alive\n\n");
  REQUIRE(keepalive != std::string::npos);
  // After the opening chunk, during the prefill that precedes the first token.
  CHECK(keepalive > first_data);
  CHECK(keepalive < text.find("reasoning_content"));
}

TEST_CASE("a full queue answers 429") {
  ServeProcess server(testing::synthetic_model(), {"--ctx", "4096", "--queue", "1"});
  const json long_body = {{"messages", user_turn(long_text(3000))}, {"stream", true}};
  RawConnection running(server.port());
  running.send(testing::http_post("/v1/chat/completions", long_body.dump(), server.port()));
  REQUIRE(running.read_until("data: ", 30s));
  RawConnection waiting(server.port());
  waiting.send(testing::http_post("/v1/chat/completions",
                                  json{{"messages", user_turn("wait")}, {"max_tokens", 2}}.dump(),
                                  server.port()));
  std::this_thread::sleep_for(300ms);  // the waiting request reaches the queue
  const auto refused = server.client()->Post(
      "/v1/messages", json{{"messages", user_turn("hi")}, {"max_tokens", 2}}.dump(),
      "application/json");
  REQUIRE(refused);
  CHECK(refused->status == 429);
  CHECK(json::parse(refused->body)["error"]["type"] == "rate_limit_error");
  running.close();  // cancels the running job; the waiting one runs next
  waiting.read_all(60s);
  CHECK(waiting.received().starts_with("HTTP/1.1 200"));
}

TEST_CASE("64 simultaneous connections are all served") {
  ServeProcess server(testing::synthetic_model(), kContext);
  constexpr int kClients = 64;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      auto client = server.client();
      const bool anthropic = i % 2 == 1;
      json body = {{"messages", user_turn("client " + std::to_string(i))}, {"max_tokens", 3}};
      if (i % 4 < 2) body["stream"] = true;
      const auto response = client->Post(anthropic ? "/v1/messages" : "/v1/chat/completions",
                                         body.dump(), "application/json");
      if (!response || response->status != 200) {
        MESSAGE("client ", i, ": ",
                response ? std::to_string(response->status) : httplib::to_string(response.error()));
        return;
      }
      const bool complete =
          body.contains("stream")
              ? response->body.find(anthropic ? "message_stop" : "[DONE]") != std::string::npos
              : json::parse(response->body).contains("usage");
      if (complete) ++ok;
    });
  }
  for (std::thread& t : clients) t.join();
  CHECK_MESSAGE(ok == kClients, server.log());
  // One worker ran them one after another: the spans it logged never overlap. (Each line is
  // written before its response goes out, but may still be on its way through the pipe.)
  const std::regex span(R"(ran (\d+\.\d+)-(\d+\.\d+) s)");
  std::vector<std::pair<double, double>> spans;
  for (int attempt = 0; attempt < 500 && spans.size() < kClients; ++attempt) {
    std::this_thread::sleep_for(10ms);
    const std::string log = server.log();
    spans.clear();
    for (auto it = std::sregex_iterator(log.begin(), log.end(), span); it != std::sregex_iterator();
         ++it)
      spans.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  }
  CHECK(spans.size() == kClients);
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) CHECK(spans[i].first >= spans[i - 1].second);
  const json after =
      post(server, "/v1/chat/completions", {{"messages", user_turn("after")}, {"max_tokens", 2}});
  CHECK(after["choices"][0]["message"].contains("content"));
}
