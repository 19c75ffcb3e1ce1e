// The head of an HTTP/1.1 request (request line and headers) as it arrives: whether it is
// complete, and whether it keeps within the limits, judged before any thread is spent on it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dsv4::server {

struct HeadScan {
  enum class Status {
    kIncomplete,      // no blank line yet, and within the limits so far
    kComplete,        // `bytes` bytes up to and including the blank line
    kTooLarge,        // more than max_head_bytes without a blank line
    kTooManyHeaders,  // more than max_header_count header lines
  };
  Status status = Status::kIncomplete;
  size_t bytes = 0;
};

// Scans the bytes received so far. Lines end with "\n" (a "\r" before it is optional, as
// parsers are lenient there); the head ends with the first empty line.
HeadScan scan_request_head(std::string_view received, size_t max_head_bytes,
                           size_t max_header_count);

// The path of the request line ("POST /v1/messages HTTP/1.1" -> "/v1/messages"), or "" when
// the line is not complete: errors sent before httplib parses the request use it to pick the
// API's error shape.
std::string request_path(std::string_view received);

}  // namespace dsv4::server
