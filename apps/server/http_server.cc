#include "apps/server/http_server.h"

#include <sys/socket.h>

#include <cstdio>
#include <ctime>
#include <string_view>

#include "apps/server/response_common.h"
#include "base/error.h"

namespace dsv4::server {
namespace {

constexpr std::string_view kKnownPaths[] = {"/health", "/v1/models", "/v1/chat/completions",
                                            "/v1/completions", "/v1/messages"};

bool known_path(const std::string& path) {
  for (std::string_view p : kKnownPaths)
    if (path == p) return true;
  return path.starts_with("/v1/models/");
}

const char* allowed_methods(const std::string& path) {
  return path == "/health" || path.starts_with("/v1/models") ? "GET" : "POST";
}

// Compares in time that depends only on the expected key's length, so that response times
// do not reveal how much of a guessed key was right.
bool same_key(std::string_view given, std::string_view expected) {
  unsigned diff = given.size() != expected.size();
  for (size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i]) ^
            static_cast<unsigned char>(i < given.size() ? given[i] : 0);
  return diff == 0;
}

// The stream of the request this thread is serving: the error handler tells from it
// whether a read failed on a limit (408, 413) rather than on malformed input (400).
thread_local const SocketStream* serving = nullptr;

// The listener's task queue: what httplib queues per accepted connection is a call of
// process_and_close_socket, which only hands the socket to the gate, so it runs at once.
class HandOver : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

void send_error(httplib::Response& response, Api api, const ApiError& error) {
  response.status = http_status(error.kind());
  response.set_content(error_body(api, error), "application/json");
}

std::string iso8601(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace

HttpServer::HttpServer(HttpSettings settings)
    : settings_(std::move(settings)),
      // httplib caps bodies sent with a Content-Length only; a chunked body is cut by the
      // stream at the limit plus a quarter for its chunk framing.
      gate_(settings_.limits, settings_.max_body_bytes + settings_.max_body_bytes / 4,
            settings_.threads, [this](SocketStream& stream, bool last) {
              serving = &stream;
              bool closed = false;
              const bool answered = server_.serve(stream, last, closed);
              serving = nullptr;
              return answered && !closed;
            }) {
  server_.gate = &gate_;
  server_.new_task_queue = [] { return new HandOver; };
  server_.set_payload_max_length(settings_.max_body_bytes);
  install_routes();
}

bool HttpServer::Server::process_and_close_socket(socket_t sock) {
  gate->adopt(sock);
  return true;
}

int HttpServer::bind(const std::string& host, int port) {
  int bound = port;
  if (port == 0)
    bound = server_.bind_to_any_port(host);
  else if (!server_.bind_to_port(host, port))
    bound = -1;
  if (bound <= 0) fail("cannot listen on ", host, ":", port, " (in use, or not an address here?)");
  server_.lengthen_backlog();
  return bound;
}

void HttpServer::Server::lengthen_backlog() {
  ::listen(svr_sock_, SOMAXCONN);
}

void HttpServer::run() {
  server_.listen_after_bind();
  gate_.stop();
}

void HttpServer::stop() {
  server_.stop();
}

void HttpServer::set_ready(ServedModel model, InferenceWorker& worker) {
  model_ = std::move(model);
  worker_.store(&worker, std::memory_order_release);
}

bool HttpServer::authorized(const httplib::Request& request) const {
  if (settings_.api_key.empty()) return true;
  const std::string authorization = request.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() &&
      strncasecmp(authorization.c_str(), kBearer.data(), kBearer.size()) == 0 &&
      same_key(std::string_view(authorization).substr(kBearer.size()), settings_.api_key))
    return true;
  return request.has_header("x-api-key") &&
         same_key(request.get_header_value("x-api-key"), settings_.api_key);
}

template <class Handler>
void HttpServer::guarded(const httplib::Request& request, httplib::Response& response,
                         Handler handler) {
  const Api api = api_of_path(request.path);
  try {
    handler();
  } catch (const ApiError& e) {
    send_error(response, api, e);
  } catch (const std::exception& e) {
    send_error(response, api, ApiError(ErrorKind::kInternal, e.what()));
  }
}

void HttpServer::generation(Endpoint endpoint, const httplib::Request& request,
                            httplib::Response& response) {
  guarded(request, response, [&] {
    InferenceWorker* worker = worker_.load(std::memory_order_acquire);
    if (worker == nullptr) throw ApiError(ErrorKind::kUnavailable, "the model is still loading");
    GenerationRoute{endpoint, *worker, model_, settings_.keepalive}.serve(request, response);
  });
}

void HttpServer::models(const httplib::Request& request, httplib::Response& response) {
  guarded(request, response, [&] {
    if (worker_.load(std::memory_order_acquire) == nullptr)
      throw ApiError(ErrorKind::kUnavailable, "the model is still loading");
    // Any model name is accepted by the generation endpoints, so any name is found here.
    const bool one = request.path.starts_with("/v1/models/");
    const std::string id =
        one ? request.path.substr(std::string_view("/v1/models/").size()) : model_.id;
    Json entry;
    Json body;
    if (request.has_header("anthropic-version")) {
      entry = {{"type", "model"},
               {"id", id},
               {"display_name", id},
               {"created_at", iso8601(model_.created)}};
      body = one ? entry
                 : Json{{"data", Json::array({entry})},
                        {"has_more", false},
                        {"first_id", id},
                        {"last_id", id}};
    } else {
      entry = {{"id", id}, {"object", "model"}, {"created", model_.created}, {"owned_by", "dsv4"}};
      body = one ? entry : Json{{"object", "list"}, {"data", Json::array({entry})}};
    }
    response.set_content(json_text(body), "application/json");
  });
}

void HttpServer::install_routes() {
  server_.set_pre_routing_handler([this](const httplib::Request& request,
                                         httplib::Response& response) {
    if (settings_.cors) {
      response.set_header("Access-Control-Allow-Origin", "*");
      if (request.method == "OPTIONS") {
        const std::string asked = request.get_header_value("Access-Control-Request-Headers");
        response.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        response.set_header(
            "Access-Control-Allow-Headers",
            asked.empty() ? "Authorization, Content-Type, x-api-key, anthropic-version" : asked);
        response.set_header("Access-Control-Max-Age", "86400");
        response.status = 204;
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    // Health checks need no key: they reveal nothing and monitors rarely carry one.
    if (request.path != "/health" && !authorized(request)) {
      send_error(response, api_of_path(request.path),
                 ApiError(ErrorKind::kAuthentication, "invalid or missing API key"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  server_.Get("/health", [this](const httplib::Request&, httplib::Response& response) {
    const bool ready = worker_.load(std::memory_order_acquire) != nullptr;
    response.status = ready ? 200 : 503;
    response.set_content(ready ? R"({"status":"ok"})" : R"({"status":"loading"})",
                         "application/json");
  });
  server_.Get("/v1/models", [this](const auto& rq, auto& rs) { models(rq, rs); });
  server_.Get(R"(/v1/models/[^/]+)", [this](const auto& rq, auto& rs) { models(rq, rs); });
  server_.Post("/v1/chat/completions", [this](const auto& rq, auto& rs) {
    generation(Endpoint::kChatCompletions, rq, rs);
  });
  server_.Post("/v1/completions",
               [this](const auto& rq, auto& rs) { generation(Endpoint::kCompletions, rq, rs); });
  server_.Post("/v1/messages",
               [this](const auto& rq, auto& rs) { generation(Endpoint::kMessages, rq, rs); });

  // Statuses httplib sets itself (no route, a body over the limit, a malformed request) get
  // a JSON body too; a known path asked with the wrong method is a 405, not a 404.
  server_.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& request,
                                                                    httplib::Response& response) {
    if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const Api api = api_of_path(request.path);
    const SocketStream::Limit limit =
        serving == nullptr ? SocketStream::Limit::kNone : serving->limit_hit();
    if (limit == SocketStream::Limit::kTimeout) {
      send_error(response, api,
                 ApiError(ErrorKind::kTimeout,
                          "the request body did not arrive in time (--request-timeout)"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (limit == SocketStream::Limit::kTooLarge) response.status = 413;
    const char* allowed = known_path(request.path) ? allowed_methods(request.path) : nullptr;
    if (allowed != nullptr && request.method != allowed) {
      response.set_header("Allow", allowed);
      send_error(
          response, api,
          ApiError(ErrorKind::kMethodNotAllowed, request.method + " is not allowed on " +
                                                     request.path + " (use " + allowed + ")"));
    } else if (response.status == 404) {
      send_error(response, api,
                 ApiError(ErrorKind::kNotFound,
                          "no such endpoint: " + request.method + " " + request.path));
    } else if (response.status == 413) {
      // httplib caps form-encoded bodies (curl's default type for -d) far below the limit.
      const bool form =
          request.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded");
      send_error(response, api,
                 ApiError(ErrorKind::kTooLarge,
                          form ? "the request body is form-encoded and too large: send JSON "
                                 "with Content-Type: application/json"
                               : "the request body is larger than the server's limit "
                                 "(--max-body-mb)"));
    } else {
      const int status = response.status;
      send_error(response, api, ApiError(ErrorKind::kInvalidRequest, "malformed HTTP request"));
      response.status = status;
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  server_.set_logger([](const httplib::Request& request, const httplib::Response& response) {
    if (response.status >= 400)
      std::fprintf(stderr, "dsv4 serve: %s %s %s: %d\n", request.remote_addr.c_str(),
                   request.method.c_str(), request.path.c_str(), response.status);
  });
}

}  // namespace dsv4::server
