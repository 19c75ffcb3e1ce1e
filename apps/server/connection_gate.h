// Where connections wait while they have nothing for a worker: one thread polls every idle
// keep-alive connection and every request head still arriving, so that neither holds a
// worker thread. httplib 0.11 would give each connection a pool thread for as long as it
// stays open, and a few hundred idle or slowly-writing clients would starve everyone else.
// A connection goes to a worker (httplib's request processing on a SocketStream) once its
// request head is complete, and comes back here between requests.
//
// Limits (connection_limits.h): the number of connections (at the limit the one waiting
// longest is closed, so a flood of idle connections cannot lock out a new client), the idle
// time, the time a request may take to arrive (408), the head's size and header count (431).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <httplib.h>

#include "apps/server/api_error.h"
#include "apps/server/connection_limits.h"
#include "apps/server/socket_stream.h"

namespace dsv4::server {

class ConnectionGate {
 public:
  // Serves one request whose head has arrived, on a worker thread (`last`: the connection
  // closes after it); returns whether the connection may carry another request.
  using Serve = std::function<bool(SocketStream& stream, bool last)>;

  // `max_request_bytes`: the most a request's body (chunk framing included) may add to its
  // head. `threads`: requests served at once.
  ConnectionGate(const ConnectionLimits& limits, size_t max_request_bytes, size_t threads,
                 Serve serve);
  ~ConnectionGate();
  ConnectionGate(const ConnectionGate&) = delete;
  ConnectionGate& operator=(const ConnectionGate&) = delete;

  // Takes over a connection just accepted.
  void adopt(int fd);
  // Closes every waiting connection, ends the reading side of those being served, and
  // returns once no request is being served.
  void stop();

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiting {
    int fd = -1;
    std::string received;  // bytes of the next request so far
    size_t served = 0;     // requests served on this connection
    Clock::time_point since;
    Clock::time_point deadline;
  };

  void poll_loop();
  void admit(Waiting waiting);
  // Closes the connections waiting longest until a new one fits; false when none can go.
  bool make_room();
  void receive(int fd);
  // Acts on what `fd` has received: dispatch a complete head, refuse a bad one, or wait on.
  void examine(int fd, bool peer_closed);
  void expire();
  void dispatch(Waiting waiting);
  void serve_requests(Waiting waiting);
  void refuse(int fd, const std::string& received, ErrorKind kind, const std::string& message);
  void forget(int fd);
  void wake() const;

  const ConnectionLimits limits_;
  const size_t max_request_bytes_;
  const Serve serve_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;

  std::mutex mutex_;
  std::vector<Waiting> incoming_;  // accepted or back from a worker, not yet polled
  std::unordered_set<int> busy_;   // connections a worker has
  bool stopping_ = false;

  std::unordered_map<int, Waiting> waiting_;  // the poll thread's own
  httplib::ThreadPool workers_;
  bool workers_stopped_ = false;
  std::thread poller_;
};

}  // namespace dsv4::server
