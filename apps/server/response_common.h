// What the OpenAI and Anthropic response writers share: the streaming interface the SSE
// pump drives, response ids, and JSON text that survives invalid UTF-8 from the model.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apps/server/api_error.h"
#include "apps/server/job.h"
#include "apps/server/json_fields.h"
#include "render/dsml_stream.h"

namespace dsv4::server {

// One server-sent event: "event: <event>\n" (when not empty) then "data: <data>\n\n".
struct SseMessage {
  std::string event;
  std::string data;
};

// Turns a job's generation events into an API's stream of server-sent events.
class StreamFormat {
 public:
  virtual ~StreamFormat() = default;
  // Each appends what it has to send to `out`.
  virtual void begin(const Admission& admission, std::vector<SseMessage>& out) = 0;
  virtual void event(const render::StreamEvent& event, std::vector<SseMessage>& out) = 0;
  virtual void end(const JobOutcome& outcome, std::vector<SseMessage>& out) = 0;
  // Generation failed after the stream began.
  virtual void error(const ApiError& error, std::vector<SseMessage>& out) = 0;
};

// `prefix` followed by 24 random letters and digits: "chatcmpl-", "msg_", "toolu_", "call_".
std::string new_id(std::string_view prefix);

int64_t unix_time();

// Compact JSON; invalid UTF-8 in the model's text becomes U+FFFD rather than an exception.
std::string json_text(const Json& value);

}  // namespace dsv4::server
