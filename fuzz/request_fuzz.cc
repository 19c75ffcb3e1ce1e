// Request bodies of the generating endpoints, as `dsv4 serve` handles them on an HTTP thread:
// the bounded JSON parse, the API's own field checks, then rendering the prompt. Every defect
// must come back as an ApiError of kind kInvalidRequest (a 400 naming the field); any other
// exception would be a 500, and is a bug. The first byte picks the endpoint.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "apps/server/anthropic_request.h"
#include "apps/server/api_error.h"
#include "apps/server/chat_request.h"
#include "apps/server/json_fields.h"
#include "apps/server/openai_request.h"

namespace {

dsv4::server::ChatRequest parse(uint8_t endpoint, const dsv4::server::Json& body) {
  switch (endpoint % 3) {
    case 0:
      return dsv4::server::parse_openai_chat(body);
    case 1:
      return dsv4::server::parse_openai_completion(body);
    default:
      return dsv4::server::parse_anthropic_messages(body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const dsv4::server::ChatRequest request =
        parse(data[0], dsv4::server::parse_request_body(body));
    (void)dsv4::server::render_prompt(request, 4096);
  } catch (const dsv4::server::ApiError& e) {
    if (e.kind() != dsv4::server::ErrorKind::kInvalidRequest) std::abort();
  }
  return 0;
}
