// XXH64 against the reference values of xxHash (its specification's sanity vectors and values
// computed with libxxhash), one-shot and streamed in pieces of every size.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "base/hash64.h"

using dsv4::Hash64;
using dsv4::hash64;

namespace {

std::vector<unsigned char> pattern(size_t n) {
  std::vector<unsigned char> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<unsigned char>(i * 7 + 3);
  return bytes;
}

}  // namespace

TEST_CASE("XXH64 matches the reference values") {
  CHECK(hash64("", 0) == 0xEF46DB3751D8E999ull);
  CHECK(hash64("a", 1) == 0xD24EC4F1A98C6E5Bull);
  CHECK(hash64("abc", 3) == 0x44BC2CF5AD770999ull);
  const char* text = "Nobody inspects the spammish repetition";  // longer than one stripe
  CHECK(hash64(text, std::strlen(text)) == 0xFBCEA83C8A378BF1ull);
  const std::vector<unsigned char> bytes = pattern(1000);
  CHECK(hash64(bytes.data(), 101) == 0xBAD4D3BF033BDA4Cull);
  CHECK(hash64(bytes.data(), 1000, 0x1234) == 0x606A85EAE0CDBB41ull);
}

TEST_CASE("XXH64 streamed in pieces equals the one-shot hash") {
  const std::vector<unsigned char> bytes = pattern(1000);
  const uint64_t whole = hash64(bytes.data(), bytes.size(), 7);
  for (size_t piece = 1; piece <= 70; ++piece) {
    Hash64 h(7);
    for (size_t at = 0; at < bytes.size(); at += piece)
      h.update(bytes.data() + at, std::min(piece, bytes.size() - at));
    CHECK_MESSAGE(h.digest() == whole, "pieces of ", piece, " bytes");
  }
  Hash64 h(7);
  h.update(bytes.data(), 10);
  const uint64_t early = h.digest();  // taking a digest does not end the stream
  CHECK(early == hash64(bytes.data(), 10, 7));
  h.update(bytes.data() + 10, bytes.size() - 10);
  CHECK(h.digest() == whole);
}
