#include "render/utf8.h"

namespace dsv4::render {
namespace {

// Valid range of the second byte for each lead byte (Unicode Table 3-7); later bytes are
// always 0x80..0xBF. Returns the sequence length, or 0 for an invalid lead byte.
size_t lead_info(uint8_t lead, uint8_t& lo, uint8_t& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;
  if (lead < 0xE0) return 2;
  if (lead == 0xE0) lo = 0xA0;
  if (lead == 0xED) hi = 0x9F;
  if (lead < 0xF0) return 3;
  if (lead == 0xF0) lo = 0x90;
  if (lead == 0xF4) hi = 0x8F;
  if (lead < 0xF5) return 4;
  return 0;
}

// Number of bytes at `pos` that form a valid prefix of some sequence (at least 1 for a
// valid lead byte), and the full length that sequence needs.
size_t valid_prefix(std::string_view text, size_t pos, size_t& needed) {
  uint8_t lo, hi;
  needed = lead_info(static_cast<uint8_t>(text[pos]), lo, hi);
  if (needed == 0) return 0;
  size_t n = 1;
  while (n < needed && pos + n < text.size()) {
    const uint8_t b = static_cast<uint8_t>(text[pos + n]);
    if (n == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) break;
    ++n;
  }
  return n;
}

}  // namespace

size_t utf8_sequence_length(std::string_view text, size_t pos) {
  if (pos >= text.size()) return 0;
  size_t needed;
  const size_t n = valid_prefix(text, pos, needed);
  return n == needed ? n : 0;
}

char32_t utf8_decode_at(std::string_view text, size_t pos, size_t length) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[pos + k]); };
  switch (length) {
    case 1:
      return byte(0);
    case 2:
      return (char32_t{byte(0) & 0x1Fu} << 6) | (byte(1) & 0x3Fu);
    case 3:
      return (char32_t{byte(0) & 0x0Fu} << 12) | (char32_t{byte(1) & 0x3Fu} << 6) |
             (byte(2) & 0x3Fu);
    default:
      return (char32_t{byte(0) & 0x07u} << 18) | (char32_t{byte(1) & 0x3Fu} << 12) |
             (char32_t{byte(2) & 0x3Fu} << 6) | (byte(3) & 0x3Fu);
  }
}

size_t utf8_stable_prefix(std::string_view text) {
  // Only the last three bytes can start an unfinished sequence.
  const size_t first = text.size() > 3 ? text.size() - 3 : 0;
  for (size_t pos = first; pos < text.size(); ++pos) {
    size_t needed;
    const size_t n = valid_prefix(text, pos, needed);
    if (n > 0 && n < needed && pos + n == text.size()) return pos;
  }
  return text.size();
}

bool is_valid_utf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = utf8_sequence_length(text, pos);
    if (n == 0) return false;
    pos += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    size_t needed;
    const size_t n = valid_prefix(text, pos, needed);
    if (n > 0 && n == needed) {
      out.append(text.substr(pos, n));
      pos += n;
    } else {
      append_utf8(out, kReplacementCharacter);
      pos += n > 0 ? n : 1;
    }
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace dsv4::render
