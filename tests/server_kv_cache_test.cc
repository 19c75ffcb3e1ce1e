// `dsv4 serve --kv-dir`: a restarted server restores a long prompt's state from the disk cache
// and evaluates only the rest, replying exactly as a server without the cache does; the
// directory stays within --kv-budget-mb; bad cache options are refused.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/server_harness.h"
#include "tests/support/process.h"
#include "tests/support/synth_model.h"
#include "tests/support/testdata.h"

using namespace dsv4;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::ServeProcess;
namespace fs = std::filesystem;

namespace {

// Reference precision: a restored prefix and its suffix then give exactly what evaluating the
// whole prompt in other chunks gives, so replies can be compared byte for byte.
const std::vector<std::string> kServe = {"--ctx", "4096", "--precision", "ref"};

std::vector<std::string> with_cache(const std::string& dir, int budget_mb) {
  std::vector<std::string> args = kServe;
  args.insert(args.end(), {"--kv-dir", dir, "--kv-budget-mb", std::to_string(budget_mb)});
  return args;
}

// A fresh, empty cache directory.
std::string cache_dir(const std::string& name) {
  const std::string dir = testing::scratch_dir() + "/server-kv-cache-" + name;
  fs::remove_all(dir);
  return dir;
}

uint64_t cache_bytes(const std::string& dir) {
  uint64_t total = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".dsv4kv") total += entry.file_size();
  return total;
}

int cache_files(const std::string& dir) {
  int count = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    count += entry.path().extension() == ".dsv4kv";
  return count;
}

// A chat request with a fixed seed; the tiny model's vocabulary spends about three tokens on
// each word, so `words` words make a prompt of about 3 × words tokens.
json chat(const json& messages) {
  return {{"messages", messages}, {"max_tokens", 8}, {"seed", 7}};
}

json long_turn(const std::string& topic, int words) {
  std::string text = topic + ":";
  for (int i = 0; i < words; ++i) text += " hello";
  return {{"role", "user"}, {"content", text}};
}

json post(const ServeProcess& server, const json& body) {
  const auto response =
      server.client()->Post("/v1/chat/completions", body.dump(), "application/json");
  REQUIRE(response);
  REQUIRE_MESSAGE(response->status == 200, response->body);
  return json::parse(response->body);
}

int64_t prompt_tokens(const json& reply) {
  return reply["usage"]["prompt_tokens"];
}

// What the log's cache lines for request `id` start with.
std::string cache_line(int id) {
  std::string line = "#";
  line += std::to_string(id);
  line += " kv cache: ";
  return line;
}

void expect_log(const ServeProcess& server, const std::string& text) {
  CHECK_MESSAGE(server.wait_for_log(text, 5s), "expected \"", text, "\" in:\n", server.log());
}

}  // namespace

TEST_CASE("a restarted server restores a long prompt from --kv-dir and evaluates only the rest") {
  const std::string dir = cache_dir("restart");
  const json first_turn = json::array({long_turn("A story", 150)});
  json next_turn = first_turn;
  next_turn.push_back({{"role", "assistant"}, {"content", "Once upon a time."}});
  next_turn.push_back({{"role", "user"}, {"content", "And then?"}});

  json first_reply;
  int64_t n1 = 0;
  {
    ServeProcess server(testing::synthetic_model(), with_cache(dir, 64));
    first_reply = post(server, chat(first_turn));
    n1 = prompt_tokens(first_reply);
    REQUIRE(n1 > 400);
    // Stored through <｜Assistant｜>, before the <think> a next turn replaces with </think>.
    expect_log(server, cache_line(1) + "nothing restored; " + std::to_string(n1) + " of the " +
                           std::to_string(n1) + " prompt tokens to evaluate");
    expect_log(server, cache_line(1) + "stored the prompt's first " + std::to_string(n1 - 1) +
                           " tokens in " + dir);
    CHECK(server.stop() == 0);
  }
  CHECK(cache_files(dir) == 1);

  ServeProcess restarted(testing::synthetic_model(), with_cache(dir, 64));
  const json next_reply = post(restarted, chat(next_turn));
  const int64_t n2 = prompt_tokens(next_reply);
  const int64_t suffix = n2 - (n1 - 1);
  expect_log(restarted, cache_line(1) + std::to_string(n1 - 1) + " of the " + std::to_string(n2) +
                            " prompt tokens restored from " + dir);
  expect_log(restarted, "; " + std::to_string(suffix) + " to evaluate");
  expect_log(restarted, std::to_string(n2) + " prompt tokens (" + std::to_string(suffix) +
                            " prefilled, " + std::to_string(n1 - 1) + " cached)");
  CHECK(next_reply["usage"]["prompt_tokens_details"]["cached_tokens"] == n1 - 1);

  // The same long prompt again: all but its last token come from the disk.
  const json repeated = post(restarted, chat(first_turn));
  expect_log(restarted, cache_line(2) + std::to_string(n1 - 1) + " of the " + std::to_string(n1) +
                            " prompt tokens restored");
  expect_log(restarted, "(1 prefilled, " + std::to_string(n1 - 1) + " cached)");
  CHECK(repeated["choices"][0]["message"] == first_reply["choices"][0]["message"]);

  // A server without the cache evaluates everything and says the same.
  ServeProcess uncached(testing::synthetic_model(), kServe);
  const json expected = post(uncached, chat(next_turn));
  CHECK(expected["usage"]["prompt_tokens"] == n2);
  CHECK(next_reply["choices"][0]["message"] == expected["choices"][0]["message"]);
  CHECK(uncached.log().find("kv cache") == std::string::npos);
}

TEST_CASE("short prompts are not stored") {
  const std::string dir = cache_dir("short");
  ServeProcess server(testing::synthetic_model(), with_cache(dir, 64));
  post(server, chat(json::array({{{"role", "user"}, {"content", "hello"}}})));
  expect_log(server, "#1 /v1/chat/completions");
  CHECK(server.log().find(cache_line(1) + "stored") == std::string::npos);
  CHECK(cache_files(dir) == 0);
}

TEST_CASE("the kv cache directory stays within --kv-budget-mb") {
  const std::string dir = cache_dir("budget");
  const uint64_t budget = uint64_t{3} << 20;  // a state of ~400 tokens takes ~0.9 MiB
  ServeProcess server(testing::synthetic_model(), with_cache(dir, 3));
  constexpr int kPrompts = 6;
  for (int k = 0; k < kPrompts; ++k) {
    CAPTURE(k);
    post(server, chat(json::array({long_turn("Topic " + std::to_string(k), 130)})));
    expect_log(server, cache_line(k + 1) + "stored");
    CHECK(cache_bytes(dir) <= budget);
  }
  // The oldest states made room for the newest: the last prompt is still cached, the first
  // is not.
  CHECK(cache_files(dir) < kPrompts);
  post(server, chat(json::array({long_turn("Topic 0", 130)})));
  expect_log(server, cache_line(kPrompts + 1) + "nothing restored");
  const int64_t n = prompt_tokens(
      post(server, chat(json::array({long_turn("Topic " + std::to_string(kPrompts - 1), 130)}))));
  expect_log(server, cache_line(kPrompts + 2) + std::to_string(n - 1) + " of the " +
                         std::to_string(n) + " prompt tokens restored");
  CHECK(cache_bytes(dir) <= budget);
}

TEST_CASE("bad kv cache options get a one-line error") {
  const std::string dir = cache_dir("options");
  const std::string file = dir + "-file";
  fs::remove_all(file);
  std::ofstream(file) << "not a directory\n";
  struct Bad {
    std::vector<std::string> options;
    int status;
  };
  const std::vector<Bad> bad = {
      {{"--kv-dir", dir, "--kv-budget-mb", "0"}, 2},
      {{"--kv-dir", dir, "--kv-budget-mb", "lots"}, 2},
      {{"--kv-budget-mb", "16"}, 2},       // without --kv-dir
      {{"--kv-dir", file + "/cache"}, 1},  // not a usage error: the file system refused
  };
  for (const Bad& b : bad) {
    std::vector<std::string> command = {testing::dsv4_binary(),     "serve",  "-m",
                                        testing::synthetic_model(), "--port", "0"};
    command.insert(command.end(), b.options.begin(), b.options.end());
    const testing::ProcessResult r = testing::run_process(command);
    CAPTURE(r.err);
    CHECK(r.status == b.status);
    CHECK(r.err.starts_with("dsv4: error: "));
    CHECK(r.err.find('\n') == r.err.size() - 1);
    CHECK(r.err.find("listening") == std::string::npos);
  }
}
