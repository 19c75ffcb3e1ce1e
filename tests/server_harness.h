// Runs `dsv4 serve` for tests: a child process on a free port (--port 0, the port read from
// its log), with its stderr collected for checks on what it logged, and a raw connection for
// what a well-behaved HTTP client never does (leave mid-stream).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

namespace dsv4::testing {

class ServeProcess {
 public:
  // Starts `dsv4 serve -m model --port 0 extra...` and waits until it listens and, with
  // `wait_until_ready`, until /health answers 200 (the model is loaded).
  ServeProcess(const std::string& model, const std::vector<std::string>& extra = {},
               bool wait_until_ready = true);
  ~ServeProcess();  // SIGTERM, then waits

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::unique_ptr<httplib::Client> client() const;
  // Everything the server wrote to stderr so far.
  std::string log() const;
  // Waits up to `timeout` until the log contains `text`.
  bool wait_for_log(const std::string& text,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  // Stops with SIGTERM and returns the exit status.
  int stop();

 private:
  void read_stderr(int fd);

  pid_t pid_ = -1;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::string log_;
  std::thread reader_;
  int status_ = -1;
};

// A plain TCP connection to 127.0.0.1.
class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  bool send(const std::string& bytes);
  // Reads until `text` has arrived (true) or `timeout` passes or the peer closes (false).
  bool read_until(const std::string& text, std::chrono::milliseconds timeout);
  // Reads until the peer closes (true) or `timeout` passes (false).
  bool read_all(std::chrono::milliseconds timeout);
  const std::string& received() const { return received_; }
  void close();

 private:
  int fd_ = -1;
  std::string received_;
};

// An HTTP/1.1 POST with a JSON body, as bytes.
std::string http_post(const std::string& path, const std::string& body, int port);

}  // namespace dsv4::testing
