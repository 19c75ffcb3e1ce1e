// The endpoints that generate: POST /v1/chat/completions, /v1/completions and /v1/messages.
// A request is parsed and rendered on its HTTP thread, queued for the worker, and answered
// once the worker has admitted its prompt: errors found until then get their proper status;
// after that the response is a stream of server-sent events or one JSON body.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <httplib.h>

#include "apps/server/inference_worker.h"

namespace dsv4::server {

struct ServedModel {
  std::string id;  // reported when a request names no model, and by /v1/models
  int64_t created = 0;
  int64_t context = 0;
  // The longest text one token stands for: a prompt longer than context × this cannot fit,
  // and is refused before any tokenization.
  size_t max_token_bytes = 1;
};

enum class Endpoint { kChatCompletions, kCompletions, kMessages };

struct GenerationRoute {
  Endpoint endpoint;
  InferenceWorker& worker;
  const ServedModel& model;
  std::chrono::milliseconds keepalive;

  // Throws ApiError for anything wrong before the response starts.
  void serve(const httplib::Request& request, httplib::Response& response) const;
};

}  // namespace dsv4::server
