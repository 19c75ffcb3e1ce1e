// The HTTP side of `dsv4 serve` (cpp-httplib): routes, API keys, CORS, and errors in each
// API's own shape. It listens before the model is loaded, answering 503 until set_ready().
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

#include <httplib.h>

#include "apps/server/connection_gate.h"
#include "apps/server/connection_limits.h"
#include "apps/server/generation_route.h"
#include "apps/server/inference_worker.h"

namespace dsv4::server {

struct HttpSettings {
  std::string api_key;  // empty: no key needed
  bool cors = false;
  size_t max_body_bytes = size_t{32} << 20;
  size_t threads = 80;                        // requests served at once; more wait for a thread
  std::chrono::milliseconds keepalive{5000};  // SSE keep-alive comments
  ConnectionLimits limits;
};

class HttpServer {
 public:
  explicit HttpServer(HttpSettings settings);

  // Port 0 picks a free one; returns the port. Throws dsv4::Error when it cannot bind.
  int bind(const std::string& host, int port);
  // Serves until stop(); call from its own thread.
  void run();
  void stop();

  // The model is loaded: API requests go to `worker` from now on.
  void set_ready(ServedModel model, InferenceWorker& worker);

 private:
  void install_routes();
  bool authorized(const httplib::Request& request) const;
  // Runs `handler`, turning an ApiError into the API's error response.
  template <class Handler>
  void guarded(const httplib::Request& request, httplib::Response& response, Handler handler);
  void generation(Endpoint endpoint, const httplib::Request& request, httplib::Response& response);
  void models(const httplib::Request& request, httplib::Response& response);

  // httplib listens with a backlog of 5 (fixed when Debian built it): a burst of clients
  // overflows that and their connections stall or fail. The listening socket is a protected
  // member, so a subclass can listen on it again with a longer queue.
  //
  // Connections do not get a pool thread each: httplib hands every accepted socket to the
  // (private, virtual) process_and_close_socket, which passes it to the gate, and the gate
  // runs httplib's request processing on a worker once a request head has arrived.
  class Server : public httplib::Server {
   public:
    void lengthen_backlog();
    // Reads, routes and answers one request on `stream`.
    bool serve(httplib::Stream& stream, bool last, bool& closed) {
      return process_request(stream, last, closed, nullptr);
    }
    ConnectionGate* gate = nullptr;

   private:
    bool process_and_close_socket(socket_t sock) override;
  };

  const HttpSettings settings_;
  Server server_;
  ConnectionGate gate_;  // after server_: its workers use server_ until it is destroyed
  ServedModel model_;
  std::atomic<InferenceWorker*> worker_{nullptr};
};

}  // namespace dsv4::server
