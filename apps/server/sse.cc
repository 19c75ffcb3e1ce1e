#include "apps/server/sse.h"

#include <algorithm>
#include <vector>

namespace dsv4::server {
namespace {

using Clock = std::chrono::steady_clock;

// How often a waiting response looks at its connection: short enough that a client that
// left stops its generation within a few tokens.
constexpr std::chrono::milliseconds kPollInterval{100};

bool write(httplib::DataSink& sink, const std::string& text) {
  return sink.write(text.data(), text.size());
}

}  // namespace

std::optional<ApiError> failure(const Job& job) {
  if (job.error()) return job.error();
  // Cancelled while the client is still there: the server is shutting down.
  if (job.outcome()->result.finish == apps::FinishReason::kCancelled)
    return ApiError(ErrorKind::kUnavailable, "generation stopped: the server is shutting down");
  return std::nullopt;
}

std::string encode_sse(const SseMessage& message) {
  std::string out;
  if (!message.event.empty()) out += "event: " + message.event + "\n";
  out += "data: " + message.data + "\n\n";
  return out;
}

bool stream_job(Job& job, const Admission& admission, StreamFormat& format, httplib::DataSink& sink,
                std::chrono::milliseconds keepalive) {
  std::vector<SseMessage> messages;
  format.begin(admission, messages);
  auto last_write = Clock::now();
  while (true) {
    std::string text;
    for (const SseMessage& m : messages) text += encode_sse(m);
    messages.clear();
    if (text.empty() && Clock::now() - last_write >= keepalive) text = ": keep-alive\n\n";
    if (!text.empty()) {
      if (!write(sink, text)) {
        job.cancel();
        return false;
      }
      last_write = Clock::now();
    }
    if (!sink.is_writable()) {
      job.cancel();
      return false;
    }
    Job::Update update = job.wait_update(std::min(kPollInterval, keepalive));
    for (const render::StreamEvent& e : update.events) format.event(e, messages);
    if (update.done) {
      if (const std::optional<ApiError> error = failure(job))
        format.error(*error, messages);
      else
        format.end(*job.outcome(), messages);
      std::string rest;
      for (const SseMessage& m : messages) rest += encode_sse(m);
      if (!write(sink, rest)) return false;
      sink.done();
      return true;
    }
  }
}

bool await_job(Job& job, httplib::DataSink& sink) {
  while (!job.wait_update(kPollInterval).done) {
    if (!sink.is_writable()) {
      job.cancel();
      return false;
    }
  }
  return true;
}

}  // namespace dsv4::server
