// Errors a request gets back, in the shape of the API it spoke: OpenAI's
// {"error": {"message", "type", "param", "code"}} or Anthropic's
// {"type": "error", "error": {"type", "message"}}, with the HTTP status both APIs use.
#pragma once

#include <stdexcept>
#include <string>

namespace dsv4::server {

enum class Api { kOpenAI, kAnthropic };

enum class ErrorKind {
  kInvalidRequest,    // 400: malformed JSON, a missing or wrong field (named in `param`)
  kAuthentication,    // 401: --api-key is set and the request lacks it
  kNotFound,          // 404
  kMethodNotAllowed,  // 405
  kTimeout,           // 408: the request did not arrive within --request-timeout
  kTooLarge,          // 413: a body over --max-body-mb
  kHeadersTooLarge,   // 431: a request head over the size or header-count limit
  kQueueFull,         // 429: --queue requests are already waiting
  kInternal,          // 500
  kUnavailable,       // 503: the model is still loading, or the server is stopping
};

class ApiError : public std::runtime_error {
 public:
  ApiError(ErrorKind kind, const std::string& message, std::string param = "")
      : std::runtime_error(message), kind_(kind), param_(std::move(param)) {}

  ErrorKind kind() const { return kind_; }
  // The request field at fault ("messages[2].role"), or "".
  const std::string& param() const { return param_; }

 private:
  ErrorKind kind_;
  std::string param_;
};

// A 400 naming the field: "<field>: <what>".
[[noreturn]] void invalid_field(const std::string& field, const std::string& what);

int http_status(ErrorKind kind);

// The JSON error body (as text) for `api`.
std::string error_body(Api api, const ApiError& error);

// The API a path belongs to: /v1/messages... is Anthropic's, everything else OpenAI's.
Api api_of_path(const std::string& path);

}  // namespace dsv4::server
