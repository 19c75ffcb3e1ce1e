#include "apps/server/openai_response.h"

#include <utility>

namespace dsv4::server {
namespace {

using Kind = render::StreamEvent::Kind;

Json usage(const Admission& admission, int64_t completion_tokens) {
  return {{"prompt_tokens", admission.prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", admission.prompt_tokens + completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", admission.cached_tokens}}}};
}

const char* finish_reason(const JobOutcome& outcome) {
  if (outcome.result.finish == apps::FinishReason::kLength) return "length";
  return outcome.result.message.tool_calls.empty() ? "stop" : "tool_calls";
}

Json tool_call(const std::string& id, const render::ToolCall& call) {
  return {{"id", id},
          {"type", "function"},
          {"function", {{"name", call.name}, {"arguments", call.arguments}}}};
}

// The shell every streamed chunk shares.
class ChunkWriter {
 public:
  ChunkWriter(std::string id, const char* object, std::string model, bool include_usage)
      : id_(std::move(id)),
        object_(object),
        model_(std::move(model)),
        created_(unix_time()),
        include_usage_(include_usage) {}

  void write(Json choice, std::vector<SseMessage>& out) const {
    Json chunk = {{"id", id_},
                  {"object", object_},
                  {"created", created_},
                  {"model", model_},
                  {"choices", Json::array({std::move(choice)})}};
    // With include_usage every chunk has a usage member, null until the last one.
    if (include_usage_) chunk["usage"] = nullptr;
    out.push_back({"", json_text(chunk)});
  }

  void finish(const Admission& admission, int64_t completion_tokens,
              std::vector<SseMessage>& out) const {
    if (include_usage_) {
      const Json chunk = {{"id", id_},
                          {"object", object_},
                          {"created", created_},
                          {"model", model_},
                          {"choices", Json::array()},
                          {"usage", usage(admission, completion_tokens)}};
      out.push_back({"", json_text(chunk)});
    }
    out.push_back({"", "[DONE]"});
  }

  static void error(const ApiError& error, std::vector<SseMessage>& out) {
    out.push_back({"", error_body(Api::kOpenAI, error)});
    out.push_back({"", "[DONE]"});
  }

 private:
  std::string id_;
  const char* object_;
  std::string model_;
  int64_t created_;
  bool include_usage_;
};

class ChatStream : public StreamFormat {
 public:
  ChatStream(const std::string& model, bool include_usage)
      : chunks_(new_id("chatcmpl-"), "chat.completion.chunk", model, include_usage) {}

  void begin(const Admission&, std::vector<SseMessage>& out) override {
    write({{"role", "assistant"}, {"content", ""}}, out);
  }

  void event(const render::StreamEvent& e, std::vector<SseMessage>& out) override {
    switch (e.kind) {
      case Kind::kReasoning:
        write({{"reasoning_content", e.text}}, out);
        break;
      case Kind::kContent:
        write({{"content", e.text}}, out);
        break;
      case Kind::kToolCallStart:
        call_ids_.push_back(new_id("call_"));
        write(
            {{"tool_calls", Json::array({{{"index", e.call},
                                          {"id", call_ids_.back()},
                                          {"type", "function"},
                                          {"function", {{"name", e.text}, {"arguments", ""}}}}})}},
            out);
        break;
      case Kind::kToolCallArguments:
        write({{"tool_calls",
                Json::array({{{"index", e.call}, {"function", {{"arguments", e.text}}}}})}},
              out);
        break;
      case Kind::kToolCallEnd:
        break;
    }
  }

  void end(const JobOutcome& outcome, std::vector<SseMessage>& out) override {
    chunks_.write({{"index", 0},
                   {"delta", Json::object()},
                   {"logprobs", nullptr},
                   {"finish_reason", finish_reason(outcome)}},
                  out);
    chunks_.finish(outcome.admission, outcome.result.stats.generated_tokens, out);
  }

  void error(const ApiError& error, std::vector<SseMessage>& out) override {
    ChunkWriter::error(error, out);
  }

 private:
  void write(Json delta, std::vector<SseMessage>& out) {
    chunks_.write({{"index", 0},
                   {"delta", std::move(delta)},
                   {"logprobs", nullptr},
                   {"finish_reason", nullptr}},
                  out);
  }

  ChunkWriter chunks_;
  std::vector<std::string> call_ids_;
};

class CompletionStream : public StreamFormat {
 public:
  CompletionStream(const std::string& model, bool include_usage)
      : chunks_(new_id("cmpl-"), "text_completion", model, include_usage) {}

  void begin(const Admission&, std::vector<SseMessage>&) override {}

  void event(const render::StreamEvent& e, std::vector<SseMessage>& out) override {
    if (e.kind == Kind::kContent) write({{"text", e.text}}, nullptr, out);
    if (e.kind == Kind::kReasoning)
      write({{"text", ""}, {"reasoning_content", e.text}}, nullptr, out);
  }

  void end(const JobOutcome& outcome, std::vector<SseMessage>& out) override {
    write({{"text", ""}}, outcome.result.finish == apps::FinishReason::kLength ? "length" : "stop",
          out);
    chunks_.finish(outcome.admission, outcome.result.stats.generated_tokens, out);
  }

  void error(const ApiError& error, std::vector<SseMessage>& out) override {
    ChunkWriter::error(error, out);
  }

 private:
  void write(Json choice, const char* finish, std::vector<SseMessage>& out) {
    choice["index"] = 0;
    choice["logprobs"] = nullptr;
    choice["finish_reason"] = finish == nullptr ? Json() : Json(finish);
    chunks_.write(std::move(choice), out);
  }

  ChunkWriter chunks_;
};

}  // namespace

Json openai_chat_body(const JobOutcome& outcome, const std::string& model) {
  const render::ParsedMessage& m = outcome.result.message;
  Json message = {
      {"role", "assistant"},
      {"content", m.content.empty() && !m.tool_calls.empty() ? Json() : Json(m.content)}};
  if (!m.reasoning_content.empty()) message["reasoning_content"] = m.reasoning_content;
  if (!m.tool_calls.empty()) {
    Json calls = Json::array();
    for (const render::ToolCall& call : m.tool_calls)
      calls.push_back(tool_call(new_id("call_"), call));
    message["tool_calls"] = std::move(calls);
  }
  return {{"id", new_id("chatcmpl-")},
          {"object", "chat.completion"},
          {"created", unix_time()},
          {"model", model},
          {"choices", Json::array({{{"index", 0},
                                    {"message", std::move(message)},
                                    {"logprobs", nullptr},
                                    {"finish_reason", finish_reason(outcome)}}})},
          {"usage", usage(outcome.admission, outcome.result.stats.generated_tokens)}};
}

std::unique_ptr<StreamFormat> openai_chat_stream(const std::string& model, bool include_usage) {
  return std::make_unique<ChatStream>(model, include_usage);
}

Json openai_completion_body(const JobOutcome& outcome, const std::string& model) {
  const render::ParsedMessage& m = outcome.result.message;
  Json choice = {{"text", m.content}, {"index", 0}, {"logprobs", nullptr}};
  if (!m.reasoning_content.empty()) choice["reasoning_content"] = m.reasoning_content;
  choice["finish_reason"] =
      outcome.result.finish == apps::FinishReason::kLength ? "length" : "stop";
  return {{"id", new_id("cmpl-")},
          {"object", "text_completion"},
          {"created", unix_time()},
          {"model", model},
          {"choices", Json::array({std::move(choice)})},
          {"usage", usage(outcome.admission, outcome.result.stats.generated_tokens)}};
}

std::unique_ptr<StreamFormat> openai_completion_stream(const std::string& model,
                                                       bool include_usage) {
  return std::make_unique<CompletionStream>(model, include_usage);
}

}  // namespace dsv4::server
