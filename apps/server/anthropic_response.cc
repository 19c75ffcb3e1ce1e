#include "apps/server/anthropic_response.h"

namespace dsv4::server {
namespace {

using Kind = render::StreamEvent::Kind;

Json usage(const Admission& admission, int64_t output_tokens) {
  return {{"input_tokens", admission.prompt_tokens - admission.cached_tokens},
          {"output_tokens", output_tokens},
          {"cache_creation_input_tokens", 0},
          {"cache_read_input_tokens", admission.cached_tokens}};
}

const char* stop_reason(const JobOutcome& outcome) {
  if (outcome.result.finish == apps::FinishReason::kLength) return "max_tokens";
  if (!outcome.stop_sequence.empty()) return "stop_sequence";
  return outcome.result.message.tool_calls.empty() ? "end_turn" : "tool_use";
}

Json stop_sequence(const JobOutcome& outcome) {
  return outcome.stop_sequence.empty() ? Json() : Json(outcome.stop_sequence);
}

// Tool arguments as the input object; arguments that are not a JSON object (the model broke
// the format) are passed on as one string field rather than lost.
Json tool_input(const std::string& arguments) {
  Json input = Json::parse(arguments, nullptr, /*allow_exceptions=*/false);
  if (input.is_object()) return input;
  return {{"arguments", arguments}};
}

Json message_shell(const std::string& id, const std::string& model) {
  return {{"id", id},
          {"type", "message"},
          {"role", "assistant"},
          {"model", model},
          {"content", Json::array()},
          {"stop_reason", nullptr},
          {"stop_sequence", nullptr}};
}

class MessageStream : public StreamFormat {
 public:
  explicit MessageStream(const std::string& model) : id_(new_id("msg_")), model_(model) {}

  void begin(const Admission& admission, std::vector<SseMessage>& out) override {
    Json message = message_shell(id_, model_);
    message["usage"] = usage(admission, 0);
    send("message_start", {{"type", "message_start"}, {"message", std::move(message)}}, out);
  }

  void event(const render::StreamEvent& e, std::vector<SseMessage>& out) override {
    switch (e.kind) {
      case Kind::kReasoning:
        open(Block::kThinking, {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}, out);
        delta({{"type", "thinking_delta"}, {"thinking", e.text}}, out);
        break;
      case Kind::kContent:
        open(Block::kText, {{"type", "text"}, {"text", ""}}, out);
        delta({{"type", "text_delta"}, {"text", e.text}}, out);
        break;
      case Kind::kToolCallStart:
        close(out);
        open(Block::kToolUse,
             {{"type", "tool_use"},
              {"id", new_id("toolu_")},
              {"name", e.text},
              {"input", Json::object()}},
             out);
        break;
      case Kind::kToolCallArguments:
        delta({{"type", "input_json_delta"}, {"partial_json", e.text}}, out);
        break;
      case Kind::kToolCallEnd:
        close(out);
        break;
    }
  }

  void end(const JobOutcome& outcome, std::vector<SseMessage>& out) override {
    close(out);
    send("message_delta",
         {{"type", "message_delta"},
          {"delta",
           {{"stop_reason", stop_reason(outcome)}, {"stop_sequence", stop_sequence(outcome)}}},
          {"usage", {{"output_tokens", outcome.result.stats.generated_tokens}}}},
         out);
    send("message_stop", {{"type", "message_stop"}}, out);
  }

  void error(const ApiError& error, std::vector<SseMessage>& out) override {
    out.push_back({"error", error_body(Api::kAnthropic, error)});
  }

 private:
  enum class Block { kNone, kThinking, kText, kToolUse };

  static void send(const char* name, const Json& data, std::vector<SseMessage>& out) {
    out.push_back({name, json_text(data)});
  }

  // Starts a block of this kind unless one is open.
  void open(Block kind, Json block, std::vector<SseMessage>& out) {
    if (block_ == kind) return;
    close(out);
    block_ = kind;
    send("content_block_start",
         {{"type", "content_block_start"}, {"index", index_}, {"content_block", std::move(block)}},
         out);
  }

  void delta(Json delta, std::vector<SseMessage>& out) {
    send("content_block_delta",
         {{"type", "content_block_delta"}, {"index", index_}, {"delta", std::move(delta)}}, out);
  }

  void close(std::vector<SseMessage>& out) {
    if (block_ == Block::kNone) return;
    send("content_block_stop", {{"type", "content_block_stop"}, {"index", index_}}, out);
    block_ = Block::kNone;
    ++index_;
  }

  std::string id_;
  std::string model_;
  Block block_ = Block::kNone;
  int index_ = 0;
};

}  // namespace

Json anthropic_message_body(const JobOutcome& outcome, const std::string& model) {
  const render::ParsedMessage& m = outcome.result.message;
  Json content = Json::array();
  if (!m.reasoning_content.empty())
    content.push_back({{"type", "thinking"}, {"thinking", m.reasoning_content}, {"signature", ""}});
  if (!m.content.empty()) content.push_back({{"type", "text"}, {"text", m.content}});
  for (const render::ToolCall& call : m.tool_calls)
    content.push_back({{"type", "tool_use"},
                       {"id", new_id("toolu_")},
                       {"name", call.name},
                       {"input", tool_input(call.arguments)}});
  Json message = message_shell(new_id("msg_"), model);
  message["content"] = std::move(content);
  message["stop_reason"] = stop_reason(outcome);
  message["stop_sequence"] = stop_sequence(outcome);
  message["usage"] = usage(outcome.admission, outcome.result.stats.generated_tokens);
  return message;
}

std::unique_ptr<StreamFormat> anthropic_message_stream(const std::string& model) {
  return std::make_unique<MessageStream>(model);
}

}  // namespace dsv4::server
