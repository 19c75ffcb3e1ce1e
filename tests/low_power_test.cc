// Low power. Idle means idle: with no request in flight, `dsv4 serve` and `dsv4 chat` use no
// CPU. The oneTBB workers sleep once their arena has no work, and the threads that wait (HTTP
// listener and connections, signal watcher, line editor) block or wake only a few times a
// second. Each process answers once, sits idle for 10 s while its CPU time (all threads) is
// read from /proc, and must then answer again. And the default thread count is the number of
// physical cores: a core's second hardware thread adds no memory bandwidth to decode.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/system.h"
#include "tests/server_harness.h"
#include "tests/support/process.h"
#include "tests/support/pty_process.h"
#include "tests/support/synth_model.h"
#include "tests/support/testdata.h"

using namespace dsv4;
using nlohmann::json;

namespace {

constexpr double kIdleSeconds = 10;
constexpr double kMaxIdleCoreShare = 0.01;

// Share of one core process `pid` used over kIdleSeconds from now.
double idle_core_share(pid_t pid) {
  const double before = testing::process_cpu_seconds(pid);
  std::this_thread::sleep_for(std::chrono::duration<double>(kIdleSeconds));
  return (testing::process_cpu_seconds(pid) - before) / kIdleSeconds;
}

// More threads than the arena can get workers for on a small machine: every worker oneTBB
// starts takes part, and must go back to sleep.
const char* const kThreads = "4";

}  // namespace

TEST_CASE("an idle dsv4 serve uses under 1% of one core and then answers normally") {
  testing::ServeProcess server(testing::synthetic_model(), {"--threads", kThreads});
  const json request = {{"messages", {{{"role", "user"}, {"content", "Hello there"}}}},
                        {"max_tokens", 16},
                        {"temperature", 0}};
  // One connection kept open throughout, as clients with a connection pool do.
  const auto client = server.client();
  client->set_keep_alive(true);
  const auto first = client->Post("/v1/chat/completions", request.dump(), "application/json");
  REQUIRE(first);
  REQUIRE_MESSAGE(first->status == 200, first->body);

  const double share = idle_core_share(server.pid());
  MESSAGE("dsv4 serve, idle for ", kIdleSeconds, " s: ", 100 * share, "% of one core");
  CHECK(share < kMaxIdleCoreShare);

  const auto second = client->Post("/v1/chat/completions", request.dump(), "application/json");
  REQUIRE(second);
  CHECK_MESSAGE(second->status == 200, second->body);
  CHECK(json::parse(second->body)["usage"]["completion_tokens"].get<int>() > 0);
}

TEST_CASE("an idle dsv4 chat uses under 1% of one core and then answers normally") {
  testing::PtyProcess chat({testing::dsv4_binary(), "chat", "-m", testing::synthetic_model(),
                            "--threads", kThreads, "--temp", "0", "-n", "16"},
                           {"TERM=dumb"});
  REQUIRE(chat.wait_for("dsv4> ", 30));
  chat.send("Hello there\r");
  REQUIRE(chat.wait_for("dsv4> ", 60));

  const double share = idle_core_share(chat.pid());
  MESSAGE("dsv4 chat, idle for ", kIdleSeconds, " s: ", 100 * share, "% of one core");
  CHECK(share < kMaxIdleCoreShare);

  chat.send("How are you?\r");
  REQUIRE(chat.wait_for("dsv4> ", 60));
  CHECK(chat.last_chunk().find("[prefilled ") != std::string::npos);
  chat.send("/quit\r");
  CHECK(chat.wait_exit(10) == 0);
}

TEST_CASE("dsv4 serve runs one thread per physical core by default") {
  testing::ServeProcess server(testing::synthetic_model());
  const std::string threads = ", " + std::to_string(physical_core_count()) + " threads,";
  CHECK_MESSAGE(server.wait_for_log(threads), server.log());
}
