// Builds GGUF images byte by byte, so tests can plant exactly one defect at a known place.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace dsv4::testing {

class GgufBuilder {
 public:
  std::vector<uint8_t> bytes;

  template <typename T>
  GgufBuilder& put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof v);
    std::memcpy(bytes.data() + at, &v, sizeof v);
    return *this;
  }
  GgufBuilder& str(const std::string& s) {
    put<uint64_t>(s.size());
    const size_t at = bytes.size();
    bytes.resize(at + s.size());
    if (!s.empty()) std::memcpy(bytes.data() + at, s.data(), s.size());
    return *this;
  }
  GgufBuilder& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    return put<uint32_t>(0x46554747)
        .put<uint32_t>(version)
        .put<uint64_t>(n_tensors)
        .put<uint64_t>(n_kv);
  }
  GgufBuilder& kv_u32(const std::string& key, uint32_t v) {
    return str(key).put<uint32_t>(4).put<uint32_t>(v);
  }
  GgufBuilder& kv_string(const std::string& key, const std::string& v) {
    return str(key).put<uint32_t>(8).str(v);
  }
  GgufBuilder& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                      uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) put<uint64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  GgufBuilder& align(size_t a = 32) {
    while (bytes.size() % a) bytes.push_back(0);
    return *this;
  }
  GgufBuilder& data(size_t n, uint8_t value = 0) {
    bytes.insert(bytes.end(), n, value);
    return *this;
  }
};

}  // namespace dsv4::testing
