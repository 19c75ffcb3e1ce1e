// GPT-2 byte-level alphabet: every byte has a printable stand-in code point, so that BPE
// token strings are valid text. Printable bytes 33–126, 161–172 and 174–255 stand for
// themselves; the other 68 bytes map to U+0100, U+0101, ... in increasing byte order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dsv4::render {

char32_t byte_to_code_point(uint8_t byte);

// The byte a code point stands for, or nullopt when it is not in the alphabet.
std::optional<uint8_t> code_point_to_byte(char32_t cp);

// The token string spelling `bytes` (one code point per byte).
std::string byte_level_encode(std::string_view bytes);

// The bytes a token string spells, or nullopt when it contains a code point outside the
// alphabet (such tokens, e.g. added special tokens, stand for their own UTF-8 text).
std::optional<std::string> byte_level_decode(std::string_view token);

}  // namespace dsv4::render
