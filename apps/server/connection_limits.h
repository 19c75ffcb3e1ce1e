// What one client may hold of `dsv4 serve`: connections, time and bytes. An idle connection
// costs the server a file descriptor and no thread (connection_gate.h), so the limits below
// bound descriptors and the time a request may take to arrive rather than thread count.
#pragma once

#include <chrono>
#include <cstddef>

namespace dsv4::server {

struct ConnectionLimits {
  // Open connections at once. At the limit the connection waiting longest for its next
  // request (idle, or with a request head still arriving) is closed to admit a new one.
  size_t max_connections = 4096;
  // An idle keep-alive connection is closed after this long without a request.
  std::chrono::milliseconds idle_timeout{30'000};
  // A request's head and body must arrive within this long of its first byte (slowloris).
  std::chrono::milliseconds request_timeout{30'000};
  // A response that the client does not read for this long is abandoned.
  std::chrono::milliseconds write_timeout{30'000};
  // The request line and headers: total bytes and header lines (431 beyond).
  size_t max_head_bytes = 64 << 10;
  size_t max_header_count = 100;
  // Requests on one connection before the server closes it (keeps fairness among clients).
  size_t max_requests_per_connection = 100;
};

}  // namespace dsv4::server
