#include "apps/server/socket_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dsv4::server {
namespace {

constexpr size_t kReceiveChunk = 16 << 10;

void address_of(const sockaddr_storage& address, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    port = ntohs(a.sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    port = ntohs(a.sin6_port);
  }
  ip = text;
}

}  // namespace

SocketStream::SocketStream(int fd, std::string prefetched, Clock::time_point read_deadline,
                           size_t max_read_bytes, std::chrono::milliseconds write_timeout)
    : fd_(fd),
      buffer_(std::move(prefetched)),
      read_deadline_(read_deadline),
      read_budget_(max_read_bytes),
      write_timeout_(write_timeout) {}

bool SocketStream::wait_for(short events, Clock::time_point deadline) const {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd_, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(left, 0, 1'000'000)));
    if (n > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
    if (n == 0 || errno != EINTR) return false;
  }
}

bool SocketStream::is_readable() const {
  return offset_ < buffer_.size() || wait_for(POLLIN, read_deadline_);
}

bool SocketStream::is_writable() const {
  if (!wait_for(POLLOUT, Clock::now() + write_timeout_)) return false;
  // A client that has gone away reads as end of stream: stop writing to it early, so that
  // its generation is cancelled. Pipelined bytes make the peek positive, which is fine.
  char byte;
  const ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n != 0 && !(n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

ssize_t SocketStream::read(char* ptr, size_t size) {
  if (size == 0) return 0;
  if (read_budget_ == 0) {
    limit_ = Limit::kTooLarge;
    return -1;
  }
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
    buffer_.resize(kReceiveChunk);
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
      if (n >= 0) {
        buffer_.resize(static_cast<size_t>(n));
        if (n == 0) return 0;
        break;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        buffer_.clear();
        return -1;
      }
      if (!wait_for(POLLIN, read_deadline_)) {
        buffer_.clear();
        limit_ = Limit::kTimeout;
        return -1;
      }
    }
  }
  const size_t n = std::min({size, buffer_.size() - offset_, read_budget_});
  std::memcpy(ptr, buffer_.data() + offset_, n);
  offset_ += n;
  read_budget_ -= n;
  return static_cast<ssize_t>(n);
}

ssize_t SocketStream::write(const char* ptr, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::send(fd_, ptr + done, size - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(POLLOUT, Clock::now() + write_timeout_)) return -1;
    } else {
      return -1;
    }
  }
  return static_cast<ssize_t>(size);
}

void SocketStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    address_of(address, ip, port);
}

void SocketStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    address_of(address, ip, port);
}

std::string SocketStream::take_unread() {
  std::string rest = buffer_.substr(offset_);
  buffer_.clear();
  offset_ = 0;
  return rest;
}

}  // namespace dsv4::server
