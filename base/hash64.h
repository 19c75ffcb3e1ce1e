// A fast 64-bit non-cryptographic hash: XXH64 as its published specification defines it
// (xxHash, doc/xxhash_spec.md), so values can be checked with any xxHash tool. Used for file
// checksums and content keys; it detects corruption, not tampering.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dsv4 {

class Hash64 {
 public:
  explicit Hash64(uint64_t seed = 0);

  void update(const void* data, size_t size);
  void update(std::string_view text) { update(text.data(), text.size()); }
  // The hash of everything passed so far; more data may follow.
  uint64_t digest() const;

 private:
  uint64_t lanes_[4];
  uint64_t seed_;
  uint64_t total_ = 0;
  unsigned char pending_[32];
  size_t pending_size_ = 0;
};

inline uint64_t hash64(const void* data, size_t size, uint64_t seed = 0) {
  Hash64 h(seed);
  h.update(data, size);
  return h.digest();
}

}  // namespace dsv4
