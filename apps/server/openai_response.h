// OpenAI response bodies and streams: chat.completion / chat.completion.chunk for
// /v1/chat/completions and text_completion for /v1/completions. Reasoning goes in
// reasoning_content (DeepSeek's field), never in content; tool calls in tool_calls; usage
// reports the prompt tokens found in the live session as prompt_tokens_details.cached_tokens.
#pragma once

#include <memory>
#include <string>

#include "apps/server/response_common.h"

namespace dsv4::server {

Json openai_chat_body(const JobOutcome& outcome, const std::string& model);
std::unique_ptr<StreamFormat> openai_chat_stream(const std::string& model, bool include_usage);

Json openai_completion_body(const JobOutcome& outcome, const std::string& model);
std::unique_ptr<StreamFormat> openai_completion_stream(const std::string& model,
                                                       bool include_usage);

}  // namespace dsv4::server
