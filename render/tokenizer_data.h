// The tokenizer as it travels between files (HF tokenizer.json, GGUF metadata, the built-in
// synthetic vocabulary) and the Tokenizer that runs it. Plain data, no behaviour.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dsv4::render {

// GGUF's token types (llama.cpp's llama_token_type values).
enum class TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,      // special added token (BOS, EOS, role markers, ...)
  kUserDefined = 4,  // non-special added token, matched by its text like a control token
  kUnused = 5,
  kByte = 6,
};

struct TokenizerData {
  // Index = token id. Normal tokens are spelled in the byte-level alphabet (byte_level.h);
  // added tokens (control, user-defined) are their literal UTF-8 text.
  std::vector<std::string> tokens;
  std::vector<TokenType> token_types;  // same length as tokens
  // BPE merges "<left> <right>" in priority order (index = rank).
  std::vector<std::string> merges;
  // Pre-tokenizer: a name other tools recognise (GGUF tokenizer.ggml.pre) and the regexes
  // it stands for, applied in sequence, each isolating its matches (HF Split, Isolated).
  std::string pre_name;
  std::vector<std::string> pre_regexes;
  int32_t bos_id = -1;  // -1: none
  int32_t eos_id = -1;
};

}  // namespace dsv4::render
