// Parsing OpenAI request bodies (POST /v1/chat/completions and /v1/completions) into
// ChatRequest, refusing wrong fields with a 400 that names them. Accepted beyond OpenAI's own
// fields, as DeepSeek's API and common local servers have them: top_k, min_p,
// reasoning_content on assistant messages, thinking {"type": ...}, think, and
// continue_final_message (continue the trailing assistant message).
#pragma once

#include "apps/server/chat_request.h"

namespace dsv4::server {

ChatRequest parse_openai_chat(const Json& body);

// The prompt is rendered as one user turn after the system prompt "You are a helpful
// assistant" (MODEL.md §7.6), unless it starts with the BOS text: then it is a rendered
// prompt and used as is.
ChatRequest parse_openai_completion(const Json& body);

}  // namespace dsv4::server
