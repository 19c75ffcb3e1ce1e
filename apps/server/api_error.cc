#include "apps/server/api_error.h"

#include <nlohmann/json.hpp>

namespace dsv4::server {
namespace {

const char* openai_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kAuthentication:
      return "authentication_error";
    case ErrorKind::kQueueFull:
      return "rate_limit_error";
    case ErrorKind::kInternal:
    case ErrorKind::kUnavailable:
      return "server_error";
    default:
      return "invalid_request_error";
  }
}

const char* openai_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kAuthentication:
      return "invalid_api_key";
    case ErrorKind::kQueueFull:
      return "rate_limit_exceeded";
    case ErrorKind::kTooLarge:
    case ErrorKind::kHeadersTooLarge:
      return "request_too_large";
    case ErrorKind::kTimeout:
      return "request_timeout";
    case ErrorKind::kUnavailable:
      return "model_not_ready";
    default:
      return nullptr;
  }
}

const char* anthropic_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidRequest:
    case ErrorKind::kMethodNotAllowed:
    case ErrorKind::kTimeout:
      return "invalid_request_error";
    case ErrorKind::kAuthentication:
      return "authentication_error";
    case ErrorKind::kNotFound:
      return "not_found_error";
    case ErrorKind::kTooLarge:
    case ErrorKind::kHeadersTooLarge:
      return "request_too_large";
    case ErrorKind::kQueueFull:
      return "rate_limit_error";
    case ErrorKind::kInternal:
      return "api_error";
    case ErrorKind::kUnavailable:
      return "overloaded_error";
  }
  return "api_error";
}

}  // namespace

void invalid_field(const std::string& field, const std::string& what) {
  throw ApiError(ErrorKind::kInvalidRequest, field + ": " + what, field);
}

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidRequest:
      return 400;
    case ErrorKind::kAuthentication:
      return 401;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kMethodNotAllowed:
      return 405;
    case ErrorKind::kTimeout:
      return 408;
    case ErrorKind::kTooLarge:
      return 413;
    case ErrorKind::kHeadersTooLarge:
      return 431;
    case ErrorKind::kQueueFull:
      return 429;
    case ErrorKind::kInternal:
      return 500;
    case ErrorKind::kUnavailable:
      return 503;
  }
  return 500;
}

std::string error_body(Api api, const ApiError& error) {
  using nlohmann::ordered_json;
  ordered_json body;
  if (api == Api::kAnthropic) {
    body = {{"type", "error"},
            {"error", {{"type", anthropic_type(error.kind())}, {"message", error.what()}}}};
  } else {
    const char* code = openai_code(error.kind());
    body = {{"error",
             {{"message", error.what()},
              {"type", openai_type(error.kind())},
              {"param", error.param().empty() ? ordered_json() : ordered_json(error.param())},
              {"code", code == nullptr ? ordered_json() : ordered_json(code)}}}};
  }
  return body.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

Api api_of_path(const std::string& path) {
  return path.starts_with("/v1/messages") ? Api::kAnthropic : Api::kOpenAI;
}

}  // namespace dsv4::server
