// A built-in byte-level BPE vocabulary of any size, for random-weight models (`dsv4 synth`)
// so that every command works without a real tokenizer. It is deterministic: the same size
// always gives the same tokens, merges and ids.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "render/tokenizer_data.h"

namespace dsv4::render {

// DeepSeek V4's special tokens that rendering and parsing use, in tiny-a's id order 0..14
// (BOS, EOS, pad, roles, think tags, DSML, reminder, task tokens).
const std::vector<std::string>& deepseek_special_tokens();

// Specials plus the 256 byte tokens: the smallest vocabulary we can build.
inline constexpr size_t kMinSyntheticVocab = 15 + 256;

// Ids 0..14 the special tokens (BOS 0, EOS 1), then the 256 byte tokens in code point order,
// then tokens from merges learned on a small built-in text with the DeepSeek pre-tokenizer,
// then "<｜place▁holder▁no▁N｜>" control tokens up to exactly `vocab_size`.
// Throws dsv4::Error when vocab_size < kMinSyntheticVocab.
TokenizerData synthetic_tokenizer(size_t vocab_size);

}  // namespace dsv4::render
