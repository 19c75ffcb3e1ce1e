// httplib's Stream over one client connection, for the worker thread serving a request.
// It starts with the bytes the gate already read (the request head, perhaps more) and
// enforces what httplib 0.11 does not: a deadline for the whole request to arrive (a
// client sending a byte now and then would otherwise hold the thread forever) and a cap on
// the request's bytes (httplib does not cap chunked bodies). Bytes read past the request
// (a pipelined next one) are handed back with take_unread().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>

#include <httplib.h>

namespace dsv4::server {

class SocketStream final : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Limit { kNone, kTimeout, kTooLarge };

  // `fd` is non-blocking and stays owned by the caller. Reads fail after `read_deadline`
  // or once `max_read_bytes` were consumed; each write may wait `write_timeout`.
  SocketStream(int fd, std::string prefetched, Clock::time_point read_deadline,
               size_t max_read_bytes, std::chrono::milliseconds write_timeout);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

  // Which limit made a read fail, if any.
  Limit limit_hit() const { return limit_; }
  // Received bytes not consumed yet.
  std::string take_unread();

 private:
  // Waits until `fd_` is ready for `events` or `deadline` passes.
  bool wait_for(short events, Clock::time_point deadline) const;

  int fd_;
  std::string buffer_;
  size_t offset_ = 0;  // consumed part of buffer_
  Clock::time_point read_deadline_;
  size_t read_budget_;
  std::chrono::milliseconds write_timeout_;
  Limit limit_ = Limit::kNone;
};

}  // namespace dsv4::server
