// GGUF files from anywhere: the reader must refuse every defect with a dsv4::Error, and what
// it accepts must survive what loading does next with metadata alone (the model config and
// the tokenizer, regexes compiled). Anything else escaping, or a sanitizer report, is a bug.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "apps/tokenizer_gguf.h"
#include "base/error.h"
#include "engine/model_config.h"
#include "gguf/reader.h"
#include "render/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const dsv4::gguf::GgufFile file =
        dsv4::gguf::GgufFile::parse_bytes(std::vector<uint8_t>(data, data + size), "fuzz.gguf");
    for (const dsv4::gguf::KeyValue& kv : file.metadata()) (void)kv.value.describe();
    try {
      (void)dsv4::engine::ModelConfig::from_gguf(file);
    } catch (const dsv4::Error&) {
    }
    const dsv4::render::Tokenizer tokenizer(dsv4::apps::read_tokenizer_metadata(file));
    (void)tokenizer.decode(tokenizer.encode("Hello, world! 123", true));
  } catch (const dsv4::Error&) {
  }
  return 0;
}
