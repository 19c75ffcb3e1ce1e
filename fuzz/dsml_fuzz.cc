// Model output through the DSML parsers: parse_completion never throws, and the incremental
// parser, fed the same text split at fuzzer-chosen points, must add up to exactly the same
// message (dsml_stream.h promises both). The first byte picks the mode, the second the split
// stride.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "render/dsml.h"
#include "render/dsml_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const auto mode =
      data[0] & 1 ? dsv4::render::ThinkingMode::kChat : dsv4::render::ThinkingMode::kThinking;
  const size_t stride = 1 + data[1] % 16;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  const dsv4::render::ParsedMessage whole = dsv4::render::parse_completion(text, mode);
  (void)dsv4::render::message_to_json(whole).dump(-1, ' ', false,
                                                  nlohmann::ordered_json::error_handler_t::replace);

  dsv4::render::DsmlStreamParser parser(mode);
  dsv4::render::MessageBuilder builder;
  for (size_t at = 0; at < text.size(); at += stride)
    builder.apply(parser.feed(text.substr(at, stride)));
  builder.apply(parser.finish());
  if (!(builder.message() == whole)) std::abort();
  return 0;
}
