// Anthropic Messages responses: the message object, and the event sequence of a streamed one
// (message_start, then per content block content_block_start / content_block_delta /
// content_block_stop, then message_delta and message_stop). Reasoning is a "thinking" block,
// tool calls are "tool_use" blocks whose input streams as input_json_delta. Usage counts the
// prompt tokens found in the live session as cache_read_input_tokens and only the prefilled
// ones as input_tokens, as Anthropic reports prompt caching.
#pragma once

#include <memory>
#include <string>

#include "apps/server/response_common.h"

namespace dsv4::server {

Json anthropic_message_body(const JobOutcome& outcome, const std::string& model);
std::unique_ptr<StreamFormat> anthropic_message_stream(const std::string& model);

}  // namespace dsv4::server
