// `dsv4 run` and `dsv4 chat` end to end: the official greedy continuation of tiny-a, the JSON
// contract, reproducibility, stop strings, errors, and a chat driven through a terminal
// (prefill of only the new tokens per turn, Ctrl-C).
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/models.h"
#include "tests/support/process.h"
#include "tests/support/pty_process.h"
#include "tests/support/synth_model.h"
#include "tests/support/testdata.h"

using dsv4::testing::dsv4_binary;
using dsv4::testing::ProcessResult;
using dsv4::testing::PtyProcess;
using dsv4::testing::run_process;
using dsv4::testing::synthetic_model;
using nlohmann::json;

namespace {

size_t line_count(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

json run_json(std::vector<std::string> args) {
  args.insert(args.begin(), {dsv4_binary(), "run"});
  args.push_back("--json");
  const ProcessResult r = run_process(args);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  REQUIRE(line_count(r.out) == 1);  // nothing on stdout but the one object
  return json::parse(r.out);
}

// Token count of `messages` rendered by `dsv4 render` and tokenized by `dsv4 tokenize`.
size_t rendered_tokens(const std::string& model, const json& messages, const std::string& mode) {
  const ProcessResult rendered =
      run_process({dsv4_binary(), "render", "--mode", mode}, json{{"messages", messages}}.dump());
  REQUIRE(rendered.status == 0);
  const ProcessResult tokens =
      run_process({dsv4_binary(), "tokenize", "-m", model, "--special"}, rendered.out);
  REQUIRE(tokens.status == 0);
  return json::parse(tokens.out).size();
}

size_t text_tokens(const std::string& model, const std::string& text) {
  const ProcessResult tokens = run_process({dsv4_binary(), "tokenize", "-m", model}, text);
  REQUIRE(tokens.status == 0);
  return json::parse(tokens.out).size();
}

struct TurnReport {
  long prefilled = -1;
  long generated = -1;
  long context = -1;
  std::string finish;
};

// The statistics line `dsv4 chat` prints after each reply.
TurnReport parse_turn_report(const std::string& text) {
  static const std::regex line(
      R"(\[prefilled (\d+) new tokens, [0-9.]+ tok/s; generated (\d+) tokens, [0-9.]+ tok/s; )"
      R"(context (\d+)/\d+; (\w+)\])");
  std::smatch m;
  TurnReport r;
  if (std::regex_search(text, m, line)) {
    r.prefilled = std::stol(m[1]);
    r.generated = std::stol(m[2]);
    r.context = std::stol(m[3]);
    r.finish = m[4];
  }
  return r;
}

}  // namespace

TEST_CASE("run reproduces the official greedy continuation of tiny-a") {
  const auto model = dsv4::testing::converted_tiny_a("mxfp4", "bf16");
  if (!model) return;
  const json greedy =
      json::parse(dsv4::testing::read_file(*dsv4::testing::testdata_dir() + "/tiny-a/greedy.json"));
  const std::string prompt_file = dsv4::testing::scratch_dir() + "/tiny-a-greedy-prompt.txt";
  std::ofstream(prompt_file, std::ios::binary) << greedy["prompt"].get<std::string>();
  const json out = run_json({"-m", *model, "--raw", "--prompt-file", prompt_file, "--temp", "0",
                             "-n", "32", "--precision", "ref"});
  CHECK(out["prompt_tokens"] == greedy["prompt_tokens"].size());
  CHECK(out["tokens"] == greedy["greedy_tokens"]);
  CHECK(out["text"] == greedy["greedy_text"]);
  CHECK(out["finish_reason"] == "length");
}

TEST_CASE("run --json reports the generation") {
  const std::string model = synthetic_model();
  const json out =
      run_json({"-m", model, "-p", "Hello there", "-n", "12", "--seed", "3", "--top-k", "40"});
  for (const char* key : {"text", "reasoning", "tokens", "prompt_tokens", "finish_reason", "stats",
                          "seed", "precision", "target", "sampling"}) {
    CAPTURE(key);
    CHECK(out.contains(key));
  }
  for (const char* key : {"prefill_tps", "decode_tps", "peak_rss_bytes"}) {
    CAPTURE(key);
    CHECK(out["stats"].contains(key));
  }
  CHECK(out["tokens"].size() == 12);
  CHECK(out["finish_reason"] == "length");
  CHECK(out["seed"] == 3);
  CHECK(out["sampling"]["top_k"] == 40);
  CHECK(out["stats"]["peak_rss_bytes"].get<double>() > 0);
  // The default rendering: one user turn in thinking mode, as `dsv4 render` makes it.
  CHECK(out["prompt_tokens"] ==
        rendered_tokens(model, json::array({{{"role", "user"}, {"content", "Hello there"}}}),
                        "thinking"));
  const json with_system =
      run_json({"-m", model, "-p", "Hello there", "-n", "1", "--nothink", "--system", "Be brief."});
  CHECK(with_system["prompt_tokens"] ==
        rendered_tokens(model,
                        json::array({{{"role", "system"}, {"content", "Be brief."}},
                                     {{"role", "user"}, {"content", "Hello there"}}}),
                        "chat"));
}

TEST_CASE("run repeats itself for a seed whatever the thread count") {
  const std::string model = synthetic_model();
  auto tokens = [&](const std::string& seed, const std::string& threads) {
    return run_json({"-m", model, "-p", "Tell me a story", "-n", "40", "--seed", seed, "--threads",
                     threads, "--min-p", "0"})["tokens"];
  };
  const json a = tokens("11", "1");
  CHECK(a.size() == 40);
  CHECK(tokens("11", "2") == a);
  CHECK(tokens("12", "1") != a);
}

TEST_CASE("run stops before a stop string") {
  const std::string model = synthetic_model();
  const std::vector<std::string> base = {"-m", model, "-p",     "Write", "--nothink",
                                         "-n", "60",  "--seed", "5"};
  const json full = run_json(base);
  const std::string text = full["raw_text"];
  REQUIRE(text.size() > 20);
  // A piece of the text from its middle: the run must end right before its first occurrence.
  const std::string stop = text.substr(text.size() / 2, 3);
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--stop", stop});
  const json cut = run_json(args);
  CHECK(cut["finish_reason"] == "stop");
  CHECK(cut["raw_text"] == text.substr(0, text.find(stop)));
  CHECK(cut["tokens"].size() <= full["tokens"].size());
}

TEST_CASE("run errors: usage errors exit 2 and other errors 1 with one line") {
  const std::string model = synthetic_model();
  struct Case {
    std::vector<std::string> args;
    int status;
    const char* mentions;
  };
  const std::vector<Case> cases = {
      {{"-m", model, "-p", "x", "--bogus"}, 2, "bogus"},
      {{"-m", model, "-p", "x", "--temp", "-1"}, 2, "temp"},
      {{"-m", model, "-p", "x", "--top-p", "0"}, 2, "top-p"},
      {{"-m", model, "-p", "x", "--think", "--nothink"}, 2, "nothink"},
      {{"-m", model}, 2, "prompt"},
      {{"-m", "/nonexistent/model.gguf", "-p", "x"}, 1, "/nonexistent/model.gguf"},
      {{"-m", model, "--prompt-file", "/nonexistent/prompt.txt"}, 1, "/nonexistent/prompt.txt"},
      {{"-m", model, "-p", "a prompt longer than the context", "--ctx", "4"}, 1, "context"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {dsv4_binary(), "run"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const ProcessResult r = run_process(args);
    CAPTURE(r.err);
    CHECK(r.status == c.status);
    CHECK(r.err.rfind("dsv4: error: ", 0) == 0);
    CHECK(line_count(r.err) == 1);
    CHECK(r.err.find(c.mentions) != std::string::npos);
    CHECK(r.out.empty());
  }
}

TEST_CASE("chat turns 2 and 3 prefill only their new tokens") {
  const std::string model = synthetic_model();
  PtyProcess chat({dsv4_binary(), "chat", "-m", model, "--temp", "0", "-n", "24"}, {"TERM=dumb"});
  REQUIRE(chat.wait_for("dsv4> ", 30));
  const std::vector<std::string> messages = {"Hello there", "How are you today?",
                                             "Tell me about compressed attention"};
  std::vector<TurnReport> turns;
  for (const std::string& message : messages) {
    chat.send(message + "\r");
    REQUIRE(chat.wait_for("dsv4> ", 60));
    CAPTURE(chat.last_chunk());
    CHECK(chat.last_chunk().find("re-reading") == std::string::npos);
    turns.push_back(parse_turn_report(chat.last_chunk()));
    REQUIRE(turns.back().prefilled >= 0);
    MESSAGE("turn ", turns.size(), ": prefilled ", turns.back().prefilled, ", context ",
            turns.back().context);
  }
  chat.send("/quit\r");
  CHECK(chat.wait_exit(10) == 0);

  // Turn 1 reads the whole rendered prompt.
  CHECK(turns[0].prefilled ==
        static_cast<long>(rendered_tokens(
            model, json::array({{{"role", "user"}, {"content", messages[0]}}}), "thinking")));
  for (size_t k = 1; k < turns.size(); ++k) {
    CAPTURE(k);
    const TurnReport& before = turns[k - 1];
    const TurnReport& now = turns[k];
    // The session grew by exactly what this turn prefilled and generated (the last sampled
    // token of a reply cut at -n is not evaluated)...
    const long evaluated = now.generated - (now.finish == "length" ? 1 : 0);
    CHECK(now.context == before.context + now.prefilled + evaluated);
    // ...and what it prefilled is the new message and the markup around it: the end of the
    // previous reply (its last token, </think>, EOS), <｜User｜>, <｜Assistant｜> and <think>.
    const long message = static_cast<long>(text_tokens(model, messages[k]));
    CHECK(now.prefilled >= message + 4);
    CHECK(now.prefilled <= message + 10);
    CHECK(now.prefilled < before.context);
  }
}

TEST_CASE("chat Ctrl-C stops a reply and returns to the prompt") {
  const std::string model = synthetic_model();
  // Greedy with no token limit and a large context: only Ctrl-C ends these replies soon.
  PtyProcess chat({dsv4_binary(), "chat", "-m", model, "--temp", "0", "--ctx", "65536"},
                  {"TERM=dumb"});
  REQUIRE(chat.wait_for("dsv4> ", 30));
  for (const char* message : {"Tell me a long story", "And another one"}) {
    chat.send(std::string(message) + "\r");
    // Thinking mode: the reply starts with reasoning, framed by "<think>" off a colour terminal.
    REQUIRE(chat.wait_for("<think>", 30));
    chat.send("\x03");
    REQUIRE(chat.wait_for("dsv4> ", 30));
    const TurnReport report = parse_turn_report(chat.last_chunk());
    CAPTURE(chat.last_chunk());
    CHECK(report.finish == "interrupted");
    CHECK(report.generated > 0);
  }
  // Ctrl-C at the prompt drops the line typed so far: "/quit" then quits instead of
  // being sent as the end of a message.
  chat.send("some words");
  REQUIRE(chat.wait_for("some words", 10));  // echoed: the editor has the line
  chat.send("\x03");
  REQUIRE(chat.wait_for("dsv4> ", 10));
  chat.send("/quit\r");
  CHECK(chat.wait_exit(30) == 0);
  CHECK(chat.output().find("some words/quit") == std::string::npos);
}

TEST_CASE("chat commands") {
  const std::string model = synthetic_model();
  const ProcessResult r = run_process(
      {dsv4_binary(), "chat", "-m", model, "-n", "8", "--seed", "1"},
      "Hello\n/help\n/load /nonexistent/x.bin\n/bogus\n/nothink\nSecond\n/ctx 16\nThird\n"
      "/read /nonexistent\n");
  CHECK(r.status == 0);
  CHECK(r.out.find("/think-max") != std::string::npos);  // the help
  CHECK(r.out.find("not loaded, the conversation is unchanged") != std::string::npos);
  CHECK(r.out.find("unknown command /bogus") != std::string::npos);
  CHECK(r.out.find("[no thinking]") != std::string::npos);
  // Switching the mode changes how earlier turns render: the session starts over.
  CHECK(r.err.find("re-reading") != std::string::npos);
  // The conversation no longer fits the new context of 16 tokens: refused, not crashed.
  CHECK(r.err.find("context holds 16") != std::string::npos);
  CHECK(r.out.find("cannot read '/nonexistent'") != std::string::npos);
}
