// Byte-level BPE tokenizer with the semantics of HF `tokenizers` for DeepSeek's
// tokenizer.json: added tokens are matched by their text (leftmost-longest) only when the
// caller asks, the rest goes through the pre-tokenizer (pretokenizer.h), each piece is
// mapped to the byte-level alphabet and merged by rank (lowest first, leftmost on ties).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "render/pretokenizer.h"
#include "render/tokenizer_data.h"

namespace dsv4::render {

class Tokenizer {
 public:
  // Validates the data (types per token, merges whose parts and result are tokens, the
  // byte alphabet, regexes that compile) and throws dsv4::Error naming the defect.
  explicit Tokenizer(TokenizerData data);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // `special`: recognise added-token text (rendered prompts); plain user text leaves it off
  // so that a user typing "<｜User｜>" gets ordinary tokens. Any bytes are accepted.
  std::vector<int32_t> encode(std::string_view text, bool special = false) const;
  void encode(std::string_view text, bool special, std::vector<int32_t>& out) const;

  // Concatenated bytes of the tokens; throws dsv4::Error for an id outside the vocabulary.
  std::string decode(std::span<const int32_t> ids) const;
  // The bytes one token stands for: added tokens their text, byte-level tokens their bytes.
  const std::string& token_bytes(int32_t id) const;

  int32_t vocab_size() const { return static_cast<int32_t>(data_.tokens.size()); }
  std::optional<int32_t> find_token(std::string_view token) const;
  int32_t bos_id() const { return data_.bos_id; }
  int32_t eos_id() const { return data_.eos_id; }
  const TokenizerData& data() const { return data_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  struct AddedTrie;
  class Bpe;

  void encode_ordinary(std::string_view text, std::vector<int32_t>& out) const;
  const Merge* find_merge(int32_t left, int32_t right) const;

  TokenizerData data_;
  PreTokenizer pre_tokenizer_;
  std::unordered_map<std::string_view, int32_t> token_ids_;  // views into data_.tokens
  std::unordered_map<uint64_t, Merge> merges_;               // (left << 32 | right) -> merge
  int32_t byte_ids_[256];                                    // -1: byte has no token
  std::vector<std::string> token_bytes_;
  std::unique_ptr<AddedTrie> added_;
};

// Turns a stream of token ids into text that never ends inside a UTF-8 character: bytes of
// a character split across tokens are held back until the character is complete.
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}
  // Text that became complete with this token (possibly empty).
  std::string push(int32_t id);
  // Whatever is still held back (an unfinished character at the end of the stream).
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  std::string pending_;
};

}  // namespace dsv4::render
