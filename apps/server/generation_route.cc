#include "apps/server/generation_route.h"

#include <memory>

#include "apps/server/anthropic_request.h"
#include "apps/server/anthropic_response.h"
#include "apps/server/openai_request.h"
#include "apps/server/openai_response.h"
#include "apps/server/sse.h"

namespace dsv4::server {
namespace {

ChatRequest parse(Endpoint endpoint, const Json& body) {
  switch (endpoint) {
    case Endpoint::kChatCompletions:
      return parse_openai_chat(body);
    case Endpoint::kCompletions:
      return parse_openai_completion(body);
    case Endpoint::kMessages:
      return parse_anthropic_messages(body);
  }
  return {};
}

std::unique_ptr<StreamFormat> stream_format(Endpoint endpoint, const ChatRequest& request,
                                            const std::string& model) {
  switch (endpoint) {
    case Endpoint::kChatCompletions:
      return openai_chat_stream(model, request.include_usage);
    case Endpoint::kCompletions:
      return openai_completion_stream(model, request.include_usage);
    case Endpoint::kMessages:
      return anthropic_message_stream(model);
  }
  return nullptr;
}

Json body_of(Endpoint endpoint, const JobOutcome& outcome, const std::string& model) {
  switch (endpoint) {
    case Endpoint::kChatCompletions:
      return openai_chat_body(outcome, model);
    case Endpoint::kCompletions:
      return openai_completion_body(outcome, model);
    case Endpoint::kMessages:
      return anthropic_message_body(outcome, model);
  }
  return {};
}

}  // namespace

void GenerationRoute::serve(const httplib::Request& request, httplib::Response& response) const {
  const ChatRequest chat = parse(endpoint, parse_request_body(request.body));
  const RenderedPrompt prompt = render_prompt(chat, model.context);
  if (prompt.text.size() > static_cast<size_t>(model.context) * model.max_token_bytes)
    throw ApiError(ErrorKind::kInvalidRequest,
                   "the prompt has " + std::to_string(prompt.text.size()) +
                       " bytes, more than a context of " + std::to_string(model.context) +
                       " tokens can hold (start the server with a larger --ctx)",
                   "messages");

  JobSpec spec;
  spec.endpoint = request.path;
  spec.prompt = prompt.text;
  spec.sampling = chat.sampling;
  spec.generation.max_tokens = chat.max_tokens;
  spec.generation.stop = chat.stop;
  spec.generation.mode = prompt.mode;
  spec.generation.prefix = prompt.answer_prefix;
  spec.stream_events = chat.stream;
  const std::shared_ptr<Job> job = worker.submit(std::move(spec));
  const Admission admission = job->wait_admission();

  const std::string model_name = chat.model.empty() ? model.id : chat.model;
  const auto cancel_unless_sent = [job](bool success) {
    if (!success) job->cancel();
  };
  if (chat.stream) {
    std::shared_ptr<StreamFormat> format = stream_format(endpoint, chat, model_name);
    response.set_header("Cache-Control", "no-cache");
    response.set_chunked_content_provider(
        "text/event-stream",
        [job, format, admission, keepalive = keepalive](size_t, httplib::DataSink& sink) {
          return stream_job(*job, admission, *format, sink, keepalive);
        },
        cancel_unless_sent);
    return;
  }
  response.set_chunked_content_provider(
      "application/json",
      [job, endpoint = endpoint, model_name](size_t, httplib::DataSink& sink) {
        if (!await_job(*job, sink)) return false;
        // The status went out with the headers: a failure this late can only be reported
        // in the body.
        const std::optional<ApiError> error = failure(*job);
        const std::string body = error ? error_body(api_of_path(job->spec().endpoint), *error)
                                       : json_text(body_of(endpoint, *job->outcome(), model_name));
        if (!sink.write(body.data(), body.size())) return false;
        sink.done();
        return true;
      },
      cancel_unless_sent);
}

}  // namespace dsv4::server
