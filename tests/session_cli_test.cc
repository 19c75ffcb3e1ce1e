// Saved conversations end to end: `dsv4 chat` /save and /load, `dsv4 run --save-session` and
// `--session` continue where the saved process stopped, evaluating only the new turn, as an
// uninterrupted chat does; bad files are refused with one line and change nothing.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/session_helpers.h"
#include "tests/support/process.h"
#include "tests/support/synth_model.h"
#include "tests/support/testdata.h"

using dsv4::testing::dsv4_binary;
using dsv4::testing::integer_after;
using dsv4::testing::ProcessResult;
using dsv4::testing::run_process;
using dsv4::testing::synthetic_model;

namespace {

std::string scratch(const std::string& name) {
  return dsv4::testing::scratch_dir() + "/session-cli-" + name;
}

struct Turn {
  long prefilled = -1, generated = -1, context = -1;
  bool operator==(const Turn&) const = default;
};

// The statistics lines `dsv4 chat` prints after each reply: "[prefilled P new tokens, ... tok/s;
// generated G tokens, ... tok/s; context C/N; finish]".
std::vector<Turn> chat_turns(const std::string& err) {
  std::vector<Turn> turns;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("[prefilled "))
      turns.push_back({integer_after(line, "[prefilled "), integer_after(line, "; generated "),
                       integer_after(line, "; context ")});
  return turns;
}

ProcessResult chat(const std::string& input) {
  const ProcessResult r = run_process(
      {dsv4_binary(), "chat", "-m", synthetic_model(), "--temp", "0", "-n", "12"}, input);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  return r;
}

nlohmann::json run_json(std::vector<std::string> args, std::string* err = nullptr) {
  args.insert(args.begin(),
              {dsv4_binary(), "run", "-m", synthetic_model(), "--temp", "0", "-n", "12", "--json"});
  const ProcessResult r = run_process(args);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  if (err != nullptr) *err = r.err;
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("chat /load continues a conversation saved by /save as if uninterrupted") {
  const std::string file = scratch("chat.dsv4");
  const ProcessResult first = chat("Hello there\n/save " + file + "\n");
  CHECK(first.out.find("[saved 2 messages and ") != std::string::npos);
  const ProcessResult resumed = chat("/load " + file + "\nHow are you today?\n");
  CHECK(resumed.out.find("[loaded 2 messages and ") != std::string::npos);
  const ProcessResult whole = chat("Hello there\nHow are you today?\n");

  const std::vector<Turn> turns = chat_turns(whole.err);
  REQUIRE(turns.size() == 2);
  REQUIRE(chat_turns(resumed.err).size() == 1);
  CHECK(resumed.err.find("re-reading") == std::string::npos);
  // The resumed chat evaluated only the new turn: what the uninterrupted one's second turn did.
  CHECK(chat_turns(resumed.err)[0] == turns[1]);
  CHECK(turns[1].prefilled < turns[0].context);
}

TEST_CASE("run --session continues a saved conversation with only the new turn") {
  const std::string first = scratch("run-1.dsv4"), second = scratch("run-2.dsv4");
  std::string err;
  const nlohmann::json a = run_json({"-p", "Hello there", "--save-session", first}, &err);
  CHECK(err.find("saved the session") != std::string::npos);
  const nlohmann::json b =
      run_json({"--session", first, "-p", "How are you today?", "--save-session", second}, &err);
  CAPTURE(err);
  CHECK(err.find("continuing " + first) != std::string::npos);

  // The same two turns in one chat: its second turn evaluated and generated the same.
  const std::vector<Turn> turns = chat_turns(chat("Hello there\nHow are you today?\n").err);
  REQUIRE(turns.size() == 2);
  // "dsv4: T prompt tokens (P prefilled, ...".
  CHECK(integer_after(err, "prompt tokens (") == turns[1].prefilled);
  CHECK(b["prompt_tokens"].get<long>() == integer_after(err, "dsv4: "));
  CHECK(b["prompt_tokens"].get<long>() + static_cast<long>(b["tokens"].size()) - 1 ==
        turns[1].context);
  CHECK(a["tokens"].size() == 12);

  // A third turn continues the second file the same way.
  const nlohmann::json c = run_json({"--session", second, "-p", "And then?"}, &err);
  CHECK(err.find("re-reading") == std::string::npos);
  CHECK(c["prompt_tokens"].get<long>() > b["prompt_tokens"].get<long>());
}

TEST_CASE("run --raw --session appends text to a saved state") {
  const std::string file = scratch("raw.dsv4"), appended = scratch("raw-2.dsv4");
  std::string err;
  run_json({"--raw", "-p", "<｜begin▁of▁sentence｜>Some raw text", "--save-session", file});
  const nlohmann::json more =
      run_json({"--raw", "--session", file, "-p", " and more", "--save-session", appended}, &err);
  CHECK(err.find("continuing " + file) != std::string::npos);
  const long prefilled = integer_after(err, "prompt tokens (");
  CHECK(prefilled > 0);
  CHECK(prefilled < more["prompt_tokens"].get<long>());
  // A raw state is not a conversation: a rendered turn cannot follow it.
  const ProcessResult r = run_process(
      {dsv4_binary(), "run", "-m", synthetic_model(), "--session", appended, "-p", "x"});
  CHECK(r.status == 1);
  CHECK(r.err.find(appended + ": holds a raw prompt, not a conversation") != std::string::npos);
}

TEST_CASE("bad session files are refused with one line and change nothing") {
  const std::string good = scratch("good.dsv4");
  run_json({"-p", "Hello there", "--save-session", good});
  std::vector<uint8_t> bytes = dsv4::testing::read_bytes(good);
  const std::string corrupt = scratch("corrupt.dsv4"), truncated = scratch("truncated.dsv4");
  bytes[bytes.size() / 3] ^= 0x04;
  dsv4::testing::write_bytes(corrupt, bytes);
  dsv4::testing::write_bytes(truncated, std::span(bytes).first(bytes.size() / 2));

  struct Case {
    std::vector<std::string> args;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--session", "/nonexistent/s.dsv4", "-p", "x"}, 1, "/nonexistent/s.dsv4: cannot open"},
      {{"--session", corrupt, "-p", "x"}, 1, corrupt + ": checksum mismatch"},
      {{"--session", truncated, "-p", "x"}, 1, truncated + ": truncated"},
      {{"--session", good, "-p", "x", "--precision", "ref"}, 1, "saved with --precision fast"},
      {{"--session", good, "-p", "x", "--system", "s"}, 2, "--system excludes --session"},
      {{"--session", good, "-p", "x", "--kv-dir", scratch("kv")}, 2, "excludes"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {dsv4_binary(), "run", "-m", synthetic_model()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const ProcessResult r = run_process(args);
    CAPTURE(r.err);
    CHECK(r.status == c.status);
    CHECK(r.err.rfind("dsv4: error: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(c.says) != std::string::npos);
  }

  // In chat a refused /load keeps the conversation: the next turn extends it.
  const ProcessResult r = chat("Hello there\n/load " + corrupt + "\nHow are you today?\n");
  CHECK(r.out.find("[not loaded, the conversation is unchanged: " + corrupt +
                   ": checksum mismatch") != std::string::npos);
  const std::vector<Turn> turns = chat_turns(r.err);
  REQUIRE(turns.size() == 2);
  CHECK(turns == chat_turns(chat("Hello there\nHow are you today?\n").err));
}
