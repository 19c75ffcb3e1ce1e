#include "render/byte_level.h"

#include <array>

#include "render/utf8.h"

namespace dsv4::render {
namespace {

bool stands_for_itself(unsigned b) {
  return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

struct Tables {
  std::array<char32_t, 256> to_cp{};
  std::array<int16_t, 512> to_byte{};  // every mapped code point is below U+0144

  Tables() {
    to_byte.fill(-1);
    char32_t next = 256;
    for (unsigned b = 0; b < 256; ++b) to_cp[b] = stands_for_itself(b) ? b : next++;
    for (unsigned b = 0; b < 256; ++b) to_byte[to_cp[b]] = static_cast<int16_t>(b);
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_to_code_point(uint8_t byte) {
  return tables().to_cp[byte];
}

std::optional<uint8_t> code_point_to_byte(char32_t cp) {
  if (cp >= tables().to_byte.size() || tables().to_byte[cp] < 0) return std::nullopt;
  return static_cast<uint8_t>(tables().to_byte[cp]);
}

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_utf8(out, byte_to_code_point(static_cast<uint8_t>(c)));
  return out;
}

std::optional<std::string> byte_level_decode(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (size_t pos = 0; pos < token.size();) {
    const size_t n = utf8_sequence_length(token, pos);
    if (n == 0) return std::nullopt;
    const auto byte = code_point_to_byte(utf8_decode_at(token, pos, n));
    if (!byte) return std::nullopt;
    out.push_back(static_cast<char>(*byte));
    pos += n;
  }
  return out;
}

}  // namespace dsv4::render
