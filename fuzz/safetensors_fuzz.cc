// Safetensors files and sharded-checkpoint indexes: malformed headers, offsets, shapes and
// shard names must be refused with a dsv4::Error. The first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "gguf/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool index = data[0] & 1;
  ++data;
  --size;
  try {
    if (index) {
      (void)dsv4::gguf::parse_safetensors_index(
          std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.index.json");
    } else {
      const auto file = dsv4::gguf::SafeTensorsFile::parse_bytes(
          std::vector<uint8_t>(data, data + size), "fuzz.safetensors");
      for (const auto& [name, tensor] : file->tensors()) {
        // Every accepted tensor lies inside the image: touch its first and last byte.
        if (tensor.size_bytes > 0) (void)(tensor.data[0] + tensor.data[tensor.size_bytes - 1]);
      }
    }
  } catch (const dsv4::Error&) {
  }
  return 0;
}
