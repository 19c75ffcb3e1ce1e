#include "apps/server/connection_gate.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "apps/server/request_head.h"
#include "base/error.h"

namespace dsv4::server {
namespace {

constexpr int kMaxEvents = 64;

const char* reason_phrase(int status) {
  switch (status) {
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Service Unavailable";
  }
}

std::string seconds_text(std::chrono::milliseconds duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", static_cast<double>(duration.count()) / 1000);
  return text;
}

void close_quietly(int fd) {
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

}  // namespace

ConnectionGate::ConnectionGate(const ConnectionLimits& limits, size_t max_request_bytes,
                               size_t threads, Serve serve)
    : limits_(limits),
      max_request_bytes_(max_request_bytes),
      serve_(std::move(serve)),
      workers_(threads) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) fail("cannot create the connection poller");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
  poller_ = std::thread([this] { poll_loop(); });
}

ConnectionGate::~ConnectionGate() {
  stop();
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void ConnectionGate::wake() const {
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void ConnectionGate::adopt(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  Waiting waiting;
  waiting.fd = fd;
  waiting.since = Clock::now();
  waiting.deadline = waiting.since + limits_.idle_timeout;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      close_quietly(fd);
      return;
    }
    incoming_.push_back(std::move(waiting));
  }
  wake();
}

void ConnectionGate::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !poller_.joinable()) return;
    stopping_ = true;
    // A worker reading a request body sees its end at once instead of waiting it out.
    for (int fd : busy_) ::shutdown(fd, SHUT_RD);
  }
  wake();
  if (poller_.joinable()) poller_.join();
  for (auto& [fd, waiting] : waiting_) close_quietly(fd);
  waiting_.clear();
  {
    std::lock_guard lock(mutex_);
    for (const Waiting& waiting : incoming_) close_quietly(waiting.fd);
    incoming_.clear();
  }
  if (!workers_stopped_) {
    workers_.shutdown();
    workers_stopped_ = true;
  }
}

void ConnectionGate::poll_loop() {
  epoll_event events[kMaxEvents];
  for (;;) {
    std::vector<Waiting> arrived;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      arrived.swap(incoming_);
    }
    for (Waiting& waiting : arrived) admit(std::move(waiting));
    expire();

    auto next = Clock::now() + std::chrono::seconds(1);
    for (const auto& [fd, waiting] : waiting_) next = std::min(next, waiting.deadline);
    const auto timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count() + 1;
    const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents,
                               static_cast<int>(std::clamp<int64_t>(timeout, 0, 1000)));
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count;
        (void)!::read(wake_fd_, &count, sizeof count);
      } else if (waiting_.count(fd)) {
        receive(fd);
      }
    }
  }
}

void ConnectionGate::admit(Waiting waiting) {
  const int fd = waiting.fd;
  if (!make_room()) {
    // Every other connection is being served: nothing can be closed to make room.
    refuse(fd, waiting.received, ErrorKind::kUnavailable,
           "the server has too many connections open; retry later");
    return;
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.fd = fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  const bool pipelined = !waiting.received.empty();
  waiting_.emplace(fd, std::move(waiting));
  // A connection back from a worker may hold the next request already.
  if (pipelined) examine(fd, false);
}

bool ConnectionGate::make_room() {
  size_t busy;
  {
    std::lock_guard lock(mutex_);
    busy = busy_.size();
  }
  while (!waiting_.empty() && waiting_.size() + busy >= limits_.max_connections) {
    const auto oldest = std::min_element(
        waiting_.begin(), waiting_.end(),
        [](const auto& a, const auto& b) { return a.second.since < b.second.since; });
    const int fd = oldest->first;
    forget(fd);
    close_quietly(fd);
  }
  return waiting_.size() + busy < limits_.max_connections;
}

void ConnectionGate::receive(int fd) {
  Waiting& waiting = waiting_.at(fd);
  bool peer_closed = false;
  char chunk[16 << 10];
  while (waiting.received.size() <= limits_.max_head_bytes) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      if (waiting.received.empty()) waiting.deadline = Clock::now() + limits_.request_timeout;
      waiting.received.append(chunk, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      peer_closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      break;
    }
  }
  examine(fd, peer_closed);
}

void ConnectionGate::examine(int fd, bool peer_closed) {
  Waiting& waiting = waiting_.at(fd);
  const HeadScan scan =
      scan_request_head(waiting.received, limits_.max_head_bytes, limits_.max_header_count);
  switch (scan.status) {
    case HeadScan::Status::kComplete: {
      Waiting ready = std::move(waiting);
      forget(fd);
      dispatch(std::move(ready));
      return;
    }
    case HeadScan::Status::kTooLarge:
    case HeadScan::Status::kTooManyHeaders: {
      const std::string received = std::move(waiting.received);
      forget(fd);
      refuse(fd, received, ErrorKind::kHeadersTooLarge,
             scan.status == HeadScan::Status::kTooLarge
                 ? "the request head is larger than " + std::to_string(limits_.max_head_bytes) +
                       " bytes"
                 : "the request has more than " + std::to_string(limits_.max_header_count) +
                       " header lines");
      return;
    }
    case HeadScan::Status::kIncomplete:
      if (peer_closed) {
        forget(fd);
        close_quietly(fd);
      }
      return;
  }
}

void ConnectionGate::expire() {
  const auto now = Clock::now();
  std::vector<int> expired;
  for (const auto& [fd, waiting] : waiting_)
    if (waiting.deadline <= now) expired.push_back(fd);
  for (int fd : expired) {
    const std::string received = std::move(waiting_.at(fd).received);
    forget(fd);
    if (received.empty()) {
      close_quietly(fd);  // idle: a client reconnects without needing a reason
    } else {
      refuse(fd, received, ErrorKind::kTimeout,
             "the request head did not arrive within " + seconds_text(limits_.request_timeout));
    }
  }
}

void ConnectionGate::forget(int fd) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  waiting_.erase(fd);
}

void ConnectionGate::dispatch(Waiting waiting) {
  {
    std::lock_guard lock(mutex_);
    busy_.insert(waiting.fd);
  }
  workers_.enqueue(
      [this, waiting = std::move(waiting)]() mutable { serve_requests(std::move(waiting)); });
}

void ConnectionGate::serve_requests(Waiting waiting) {
  const int fd = waiting.fd;
  const bool last = waiting.served + 1 >= limits_.max_requests_per_connection;
  // The deadline runs from the request's first byte, which the gate saw.
  const auto read_deadline = waiting.deadline;
  const size_t head_bytes =
      scan_request_head(waiting.received, limits_.max_head_bytes, limits_.max_header_count).bytes;
  SocketStream stream(fd, std::move(waiting.received), read_deadline,
                      head_bytes + max_request_bytes_, limits_.write_timeout);
  const bool again =
      serve_(stream, last) && !last && stream.limit_hit() == SocketStream::Limit::kNone;
  Waiting next;
  next.fd = fd;
  next.received = stream.take_unread();
  next.served = waiting.served + 1;
  next.since = Clock::now();
  next.deadline =
      next.since + (next.received.empty() ? limits_.idle_timeout : limits_.request_timeout);
  {
    std::lock_guard lock(mutex_);
    busy_.erase(fd);
    if (!again || stopping_) {
      close_quietly(fd);
      return;
    }
    incoming_.push_back(std::move(next));
  }
  wake();
}

void ConnectionGate::refuse(int fd, const std::string& received, ErrorKind kind,
                            const std::string& message) {
  const std::string path = request_path(received);
  const int status = http_status(kind);
  const std::string body = error_body(api_of_path(path), ApiError(kind, message));
  const std::string response =
      "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  // What the client sent meanwhile is read first: closing a socket with unread bytes resets
  // the connection, and the client might lose the response.
  char sink[4096];
  while (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
  }
  (void)!::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  std::fprintf(stderr, "dsv4 serve: %s: %d: %s\n", path.empty() ? "-" : path.c_str(), status,
               message.c_str());
  close_quietly(fd);
}

}  // namespace dsv4::server
