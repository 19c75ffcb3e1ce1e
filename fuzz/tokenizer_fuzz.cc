// Any bytes through the tokenizer of a synthetic vocabulary (the one `dsv4 synth` models
// carry): encoding must accept everything, and decoding the ids, whole or streamed token by
// token, must give the input back byte for byte. The first byte picks special-token
// recognition.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "render/synthetic_vocab.h"
#include "render/tokenizer.h"

namespace {

const dsv4::render::Tokenizer& tokenizer() {
  static const dsv4::render::Tokenizer instance(dsv4::render::synthetic_tokenizer(1024));
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool special = data[0] & 1;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<int32_t> ids = tokenizer().encode(text, special);
  if (tokenizer().decode(ids) != text) std::abort();
  dsv4::render::StreamingDetokenizer stream(tokenizer());
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (streamed != text) std::abort();
  return 0;
}
