// UTF-8 helpers shared by the tokenizer, the detokenizer and the DSML parsers. Model output is
// arbitrary bytes, so every function here accepts invalid input and never reads out of range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dsv4::render {

inline constexpr char32_t kReplacementCharacter = 0xFFFD;

// Length of the valid UTF-8 sequence starting at `text[pos]`, or 0 when the bytes there are
// not a complete valid sequence (invalid lead, bad continuation, overlong, surrogate,
// beyond U+10FFFF, or cut off by the end of `text`).
size_t utf8_sequence_length(std::string_view text, size_t pos);

// Decodes the valid sequence at `text[pos]` (precondition: utf8_sequence_length > 0).
char32_t utf8_decode_at(std::string_view text, size_t pos, size_t length);

// Length of the longest prefix of `text` that does not end inside a sequence which more
// bytes could still complete. Streaming code emits that prefix and keeps the rest, so a
// character split across pieces is never emitted in halves; invalid bytes are not held.
size_t utf8_stable_prefix(std::string_view text);

bool is_valid_utf8(std::string_view text);

// Replaces each maximal invalid subsequence by U+FFFD; valid text is returned unchanged.
std::string sanitize_utf8(std::string_view text);

void append_utf8(std::string& out, char32_t cp);

}  // namespace dsv4::render
