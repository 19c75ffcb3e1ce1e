// Limits on what a request may hold: the head scan the connection gate runs before a worker
// sees a request (complete? over the size or header-count limit?), and the body's JSON value
// and message counts.
#include <doctest/doctest.h>

#include <string>

#include "apps/server/anthropic_request.h"
#include "apps/server/api_error.h"
#include "apps/server/json_fields.h"
#include "apps/server/openai_request.h"
#include "apps/server/request_head.h"
#include "base/json_limits.h"

using dsv4::server::HeadScan;
using dsv4::server::request_path;
using dsv4::server::scan_request_head;

TEST_CASE("a head is complete at its first blank line") {
  const std::string head = "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n";
  const HeadScan scan = scan_request_head(head + "{}", 1024, 10);
  CHECK(scan.status == HeadScan::Status::kComplete);
  CHECK(scan.bytes == head.size());
  CHECK(scan_request_head("GET / HTTP/1.1\nHost: x\n\n", 1024, 10).bytes == 24);
  // Every prefix is incomplete, never an error.
  for (size_t n = 0; n < head.size(); ++n)
    CHECK(scan_request_head(head.substr(0, n), 1024, 10).status == HeadScan::Status::kIncomplete);
  // Blank lines before the request line do not end it.
  CHECK(scan_request_head("\r\n\r\nGET / HTTP/1.1\r\n", 1024, 10).status ==
        HeadScan::Status::kIncomplete);
}

TEST_CASE("heads over the limits are refused as soon as that is certain") {
  std::string head = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 11; ++i) head += "X: y\r\n";
  CHECK(scan_request_head(head, 1024, 10).status == HeadScan::Status::kTooManyHeaders);
  CHECK(scan_request_head(head + "\r\n", 1024, 11).status == HeadScan::Status::kComplete);
  CHECK(scan_request_head(std::string(2000, 'a'), 1024, 10).status == HeadScan::Status::kTooLarge);
  CHECK(scan_request_head(head + "\r\n", 40, 100).status == HeadScan::Status::kTooLarge);
}

TEST_CASE("the request path picks the api of errors sent before parsing") {
  CHECK(request_path("POST /v1/messages?beta=1 HTTP/1.1\r\nHost") == "/v1/messages");
  CHECK(request_path("\r\nGET /health HTTP/1.1\r\n") == "/health");
  CHECK(request_path("GET /v1/models") == "");  // the line is not complete yet
  CHECK(request_path("garbage\r\n") == "");
}

TEST_CASE("bodies with more json values than the limit are refused before parsing") {
  CHECK(dsv4::json_element_count(R"({"a": [1, 2, {"b": "x,y[{"}]})") == 6);
  CHECK(dsv4::json_element_count(R"( [ [ ], { }, "\"]", 3 ] )") == 5);
  CHECK(dsv4::json_element_count("") == 0);
  std::string many = "[";
  for (int i = 0; i < 2000; ++i) many += "[],";
  many += "[]]";
  try {
    dsv4::server::parse_request_body(many, 64, 1000);
    FAIL("expected a 400");
  } catch (const dsv4::server::ApiError& e) {
    CHECK(dsv4::server::http_status(e.kind()) == 400);
    CHECK(std::string(e.what()).find("holds 2002 JSON values, more than the limit of 1000") !=
          std::string::npos);
  }
  CHECK(dsv4::server::parse_request_body(many, 64, 4000).size() == 2001);
}

TEST_CASE("conversations over the message limit get a 400 naming messages") {
  dsv4::server::Json messages = dsv4::server::Json::array();
  for (size_t i = 0; i <= dsv4::server::kMaxMessages; ++i)
    messages.push_back({{"role", "user"}, {"content", "x"}});
  const dsv4::server::Json body = {{"messages", messages}, {"max_tokens", 1}};
  for (auto parse : {dsv4::server::parse_openai_chat, dsv4::server::parse_anthropic_messages}) {
    try {
      parse(body);
      FAIL("expected a 400");
    } catch (const dsv4::server::ApiError& e) {
      CHECK(e.param() == "messages");
      CHECK(std::string(e.what()).find("at most 65536 messages") != std::string::npos);
    }
  }
}
