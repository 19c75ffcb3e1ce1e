// `dsv4 serve` against clients that hold on to it: a slowloris head, a body that never
// ends, a thousand idle connections, floods over the connection limit, oversized heads. The
// server must keep answering normal requests within 2 s and cut the abusers off in time.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/server_harness.h"
#include "tests/support/synth_model.h"

using namespace dsv4;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::RawConnection;
using testing::ServeProcess;
using Clock = std::chrono::steady_clock;

namespace {

// A normal client: a short chat completion, timed.
std::chrono::milliseconds timed_completion(const ServeProcess& server) {
  const auto start = Clock::now();
  const json body = {{"messages", {{{"role", "user"}, {"content", "hello"}}}}, {"max_tokens", 2}};
  auto client = server.client();
  client->set_connection_timeout(5s);
  const auto response = client->Post("/v1/chat/completions", body.dump(), "application/json");
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  REQUIRE(response);
  CHECK_MESSAGE(response->status == 200, response->body);
  return took;
}

// 1,000 connections need more descriptors than the usual soft limit of 1,024 leaves.
void raise_open_file_limit() {
  rlimit limit{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  limit.rlim_cur = limit.rlim_max;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &limit) == 0);
  REQUIRE(limit.rlim_cur >= 1200);
}

std::string head_of(const std::string& path, const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         extra_headers;
}

}  // namespace

TEST_CASE("slowloris, an endless chunked body and 1,000 idle connections do not stop the server") {
  raise_open_file_limit();
  ServeProcess server(testing::synthetic_model(),
                      {"--ctx", "4096", "--request-timeout", "4", "--idle-timeout", "60"});
  timed_completion(server);  // warm up

  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 1000; ++i) idle.push_back(std::make_unique<RawConnection>(server.port()));

  std::atomic<bool> done{false};
  // Sends its head a byte at a time, 100 ms apart: 4 s buy it 40 bytes, not a whole head.
  RawConnection slowloris(server.port());
  std::thread slow([&] {
    const std::string head = head_of("/v1/chat/completions", "X-Padding: aaaaaaaaaaaaaaaaaaaa\r\n");
    for (size_t i = 0; i < head.size() && !done; ++i) {
      if (!slowloris.send(head.substr(i, 1))) return;
      std::this_thread::sleep_for(100ms);
    }
  });
  // A chunked body whose chunks keep coming, 20 ms apart.
  RawConnection endless(server.port());
  REQUIRE(endless.send(head_of("/v1/chat/completions", "Transfer-Encoding: chunked\r\n\r\n")));
  std::thread chunks([&] {
    while (!done && endless.send("1\r\n[\r\n")) std::this_thread::sleep_for(20ms);
  });

  const auto attack_start = Clock::now();
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(500ms);
    const auto took = timed_completion(server);
    MESSAGE("normal request during the attack: ", took.count(), " ms");
    CHECK(took < 2s);
  }

  // Both abusers are cut off once --request-timeout (4 s) has passed since their first byte.
  CHECK(slowloris.read_all(10s));
  CHECK(endless.read_all(10s));
  const auto cut_after = Clock::now() - attack_start;
  MESSAGE("abusers cut off after ",
          std::chrono::duration_cast<std::chrono::milliseconds>(cut_after).count(), " ms");
  CHECK(cut_after < 9s);
  CHECK(slowloris.received().starts_with("HTTP/1.1 408"));
  CHECK(endless.received().starts_with("HTTP/1.1 408"));
  done = true;
  slow.join();
  chunks.join();

  // The idle connections are still open and usable.
  RawConnection& first = *idle.front();
  REQUIRE(first.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  CHECK(first.read_all(5s));
  CHECK(first.received().starts_with("HTTP/1.1 200"));
  CHECK(timed_completion(server) < 2s);
}

TEST_CASE("at the connection limit the longest-waiting connection makes room") {
  ServeProcess server(testing::synthetic_model(), {"--ctx", "4096", "--max-connections", "16"});
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 40; ++i) {
    idle.push_back(std::make_unique<RawConnection>(server.port()));
    std::this_thread::sleep_for(5ms);  // so that the order of arrival is the server's too
  }
  CHECK(timed_completion(server) < 2s);
  // The first to arrive were closed to admit the later ones; the last are still open.
  CHECK(idle.front()->read_all(5s));
  CHECK_FALSE(idle.back()->read_all(200ms));
}

TEST_CASE("idle connections are closed after --idle-timeout") {
  ServeProcess server(testing::synthetic_model(), {"--ctx", "4096", "--idle-timeout", "0.5"});
  RawConnection idle(server.port());
  const auto start = Clock::now();
  CHECK(idle.read_all(5s));
  CHECK(Clock::now() - start < 3s);
  CHECK(idle.received().empty());
}

TEST_CASE("request heads over the size or header-count limit get 431") {
  ServeProcess server(testing::synthetic_model(), {"--ctx", "4096"});
  SUBCASE("too many header lines") {
    std::string headers;
    for (int i = 0; i < 150; ++i) headers += "X-H" + std::to_string(i) + ": v\r\n";
    RawConnection c(server.port());
    REQUIRE(c.send(head_of("/v1/messages", headers + "Content-Length: 2\r\n\r\n{}")));
    CHECK(c.read_all(5s));
    CHECK(c.received().starts_with("HTTP/1.1 431"));
    // In the shape of the API the path belongs to.
    CHECK(c.received().find(R"("type":"error")") != std::string::npos);
  }
  SUBCASE("a head larger than 64 KiB") {
    std::string headers;
    for (int i = 0; i < 20; ++i)
      headers += "X-H" + std::to_string(i) + ": " + std::string(4000, 'a') + "\r\n";
    RawConnection c(server.port());
    c.send(head_of("/v1/chat/completions", headers + "\r\n"));
    CHECK(c.read_all(5s));
    CHECK(c.received().starts_with("HTTP/1.1 431"));
  }
  CHECK(timed_completion(server) < 2s);
}

TEST_CASE("a chunked body over --max-body-mb gets 413") {
  ServeProcess server(testing::synthetic_model(), {"--ctx", "4096", "--max-body-mb", "1"});
  RawConnection c(server.port());
  REQUIRE(c.send(head_of("/v1/chat/completions", "Transfer-Encoding: chunked\r\n\r\n")));
  const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
  for (int i = 0; i < 40 && c.send(chunk); ++i) {
  }
  CHECK(c.read_all(10s));
  CHECK(c.received().starts_with("HTTP/1.1 413"));
}

TEST_CASE("pipelined requests on one connection are all answered") {
  ServeProcess server(testing::synthetic_model(), {"--ctx", "4096"});
  RawConnection c(server.port());
  const std::string health = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(c.send(health + health +
                 "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  CHECK(c.read_all(5s));
  size_t answers = 0;
  for (size_t at = 0; (at = c.received().find("HTTP/1.1 200", at)) != std::string::npos; ++at)
    ++answers;
  CHECK(answers == 3);
}
