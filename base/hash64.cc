#include "base/hash64.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace dsv4 {
namespace {

static_assert(std::endian::native == std::endian::little, "XXH64 reads little-endian lanes");

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4Full;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ull;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ull;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ull;

uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint32_t load32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint64_t round(uint64_t acc, uint64_t lane) {
  return std::rotl(acc + lane * kPrime2, 31) * kPrime1;
}

uint64_t merge(uint64_t acc, uint64_t lane) {
  return (acc ^ round(0, lane)) * kPrime1 + kPrime4;
}

void consume_stripe(uint64_t (&lanes)[4], const unsigned char* p) {
  for (int i = 0; i < 4; ++i) lanes[i] = round(lanes[i], load64(p + 8 * i));
}

}  // namespace

Hash64::Hash64(uint64_t seed)
    : lanes_{seed + kPrime1 + kPrime2, seed + kPrime2, seed, seed - kPrime1}, seed_(seed) {}

void Hash64::update(const void* data, size_t size) {
  if (size == 0) return;
  const auto* p = static_cast<const unsigned char*>(data);
  total_ += size;
  if (pending_size_ > 0) {
    const size_t take = std::min(size, sizeof pending_ - pending_size_);
    std::memcpy(pending_ + pending_size_, p, take);
    pending_size_ += take;
    p += take;
    size -= take;
    if (pending_size_ < sizeof pending_) return;
    consume_stripe(lanes_, pending_);
    pending_size_ = 0;
  }
  for (; size >= 32; p += 32, size -= 32) consume_stripe(lanes_, p);
  std::memcpy(pending_, p, size);
  pending_size_ = size;
}

uint64_t Hash64::digest() const {
  uint64_t acc;
  if (total_ >= 32) {
    acc = std::rotl(lanes_[0], 1) + std::rotl(lanes_[1], 7) + std::rotl(lanes_[2], 12) +
          std::rotl(lanes_[3], 18);
    for (uint64_t lane : lanes_) acc = merge(acc, lane);
  } else {
    acc = seed_ + kPrime5;
  }
  acc += total_;
  const unsigned char* p = pending_;
  size_t left = pending_size_;
  for (; left >= 8; p += 8, left -= 8)
    acc = std::rotl(acc ^ round(0, load64(p)), 27) * kPrime1 + kPrime4;
  if (left >= 4) {
    acc = std::rotl(acc ^ (load32(p) * kPrime1), 23) * kPrime2 + kPrime3;
    p += 4;
    left -= 4;
  }
  for (; left > 0; ++p, --left) acc = std::rotl(acc ^ (*p * kPrime5), 11) * kPrime1;
  acc ^= acc >> 33;
  acc *= kPrime2;
  acc ^= acc >> 29;
  acc *= kPrime3;
  acc ^= acc >> 32;
  return acc;
}

}  // namespace dsv4
