// Parsing Anthropic Messages bodies (POST /v1/messages) into ChatRequest: content blocks
// (text, thinking, tool_use, tool_result) become encoding_dsv4 messages, a trailing
// assistant message is continued (Anthropic's prefill), and max_tokens is required.
#pragma once

#include "apps/server/chat_request.h"

namespace dsv4::server {

ChatRequest parse_anthropic_messages(const Json& body);

}  // namespace dsv4::server
