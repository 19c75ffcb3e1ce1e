// The pre-tokenizer: splits text into the pieces that BPE encodes independently. It applies
// a sequence of regexes the way HF `tokenizers` applies `Split(pattern, behavior=Isolated)`
// pre-tokenizers: each regex runs over every piece produced by the previous one (so a
// look-ahead never sees past the end of its piece), its matches become pieces and so do the
// gaps between them. PCRE2 with Unicode properties and JIT does the matching.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsv4::render {

// DeepSeek V3/V4's pre-tokenizer (tokenizer.json of the release): digits in runs of at most
// three, CJK/kana runs, then the punctuation/letters/whitespace alternation.
const std::vector<std::string>& deepseek_pre_regexes();

// The name our files write to tokenizer.ggml.pre for DeepSeek's regexes: llama.cpp's
// converter gives DeepSeek V4's tokenizer this name, and ds4 expects it.
inline constexpr std::string_view kDeepSeekPreName = "joyai-llm";

// The regexes a tokenizer.ggml.pre name stands for in llama.cpp, for the names whose regexes
// we know ("joyai-llm" and "deepseek-v3" are the same sequence).
std::optional<std::vector<std::string>> known_pre_regexes(std::string_view name);

class PreTokenizer {
 public:
  // Throws dsv4::Error naming the regex and PCRE2's message when one does not compile.
  explicit PreTokenizer(const std::vector<std::string>& regexes);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Appends the pieces of `text` to `pieces` (views into `text`). Invalid UTF-8 never matches
  // a regex, so it ends up in gap pieces; the concatenation of the pieces is always `text`.
  void split(std::string_view text, std::vector<std::string_view>& pieces) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsv4::render
