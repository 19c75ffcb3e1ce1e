#include "render/synthetic_vocab.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <utility>

#include "base/error.h"
#include "render/byte_level.h"
#include "render/pretokenizer.h"
#include "render/utf8.h"

namespace dsv4::render {
namespace {

// Training text for the merges: ordinary prose, code, numbers and a little CJK, so that
// synthetic models see common words as single tokens like a real vocabulary would.
constexpr std::string_view kCorpus = R"corpus(
The quick brown fox jumps over the lazy dog. The dog did not mind, because the day was warm
and the grass was soft. When the sun went down, the fox and the dog walked home together.
A language model reads a sequence of tokens and predicts the next one. Each token is a piece
of text: a word, a part of a word, a number, a space or a punctuation mark. The model learns
which pieces tend to follow each other, and that is how it writes sentences that make sense.
Attention lets every position look at the positions before it. Compressed attention keeps a
summary of older positions, so that a long context fits in memory and still helps the model.
The experts of a mixture share the work: a router chooses a few of them for every token, and
only those experts run. This is why a very large model can answer quickly on a small machine.
Please write the answer in a short paragraph. Explain what you did, why you did it, and what
you would do next time. If you are not sure, say so, and tell me what information is missing.
The weather in Paris is mild in spring. In summer it can be hot, and in winter it is often
cold and grey. Many people visit the city every year to see the museums and the river.
def add(a, b):
    return a + b

for i in range(10):
    print(i, add(i, i * 2))

int main(int argc, char** argv) {
  std::vector<int> values = {1, 2, 3, 4};
  for (int value : values) std::printf("%d\n", value);
  return 0;
}
{"name": "get_weather", "arguments": {"location": "Berlin", "unit": "celsius"}}
Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 2024 2025 2026 3.14159 42 65536 1048576.
Dates and times: 2026-01-31 12:00, 1999-12-31 23:59. Prices: $10, $250, 15%.
你好，世界。今天天气很好，我们一起去公园散步吧。
こんにちは、世界。今日はいい天気ですね。
The end of the text is near, and the end of the story is here. Thank you for reading it.
)corpus";

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

}  // namespace

const std::vector<std::string>& deepseek_special_tokens() {
  static const std::vector<std::string> kTokens = {
      "<｜begin▁of▁sentence｜>",
      "<｜end▁of▁sentence｜>",
      "<｜▁pad▁｜>",
      "<｜User｜>",
      "<｜Assistant｜>",
      "<think>",
      "</think>",
      "｜DSML｜",
      "<｜latest_reminder｜>",
      "<｜action｜>",
      "<｜query｜>",
      "<｜authority｜>",
      "<｜domain｜>",
      "<｜title｜>",
      "<｜read_url｜>",
  };
  return kTokens;
}

TokenizerData synthetic_tokenizer(size_t vocab_size) {
  if (vocab_size < kMinSyntheticVocab)
    fail("synthetic vocabulary: size ", vocab_size, " is below the minimum of ", kMinSyntheticVocab,
         " (15 special tokens + 256 bytes)");
  if (vocab_size > static_cast<size_t>(INT32_MAX))
    fail("synthetic vocabulary: size ", vocab_size, " too large");

  TokenizerData data;
  data.pre_name = std::string(kDeepSeekPreName);
  data.pre_regexes = deepseek_pre_regexes();
  data.bos_id = 0;
  data.eos_id = 1;
  for (const std::string& special : deepseek_special_tokens()) {
    data.tokens.push_back(special);
    data.token_types.push_back(TokenType::kControl);
  }
  // Byte tokens in code point order of their spelling.
  std::vector<std::pair<char32_t, uint8_t>> bytes;
  for (unsigned b = 0; b < 256; ++b)
    bytes.emplace_back(byte_to_code_point(static_cast<uint8_t>(b)), b);
  std::sort(bytes.begin(), bytes.end());
  std::map<std::string, int32_t> ids;
  for (const auto& [cp, byte] : bytes) {
    std::string token;
    append_utf8(token, cp);
    ids[token] = static_cast<int32_t>(data.tokens.size());
    data.tokens.push_back(token);
    data.token_types.push_back(TokenType::kNormal);
  }

  // Count the corpus's pieces, then learn merges greedily (most frequent adjacent pair;
  // ties to the lowest ids) while a pair occurs at least twice and room is left.
  std::vector<std::string_view> pieces;
  PreTokenizer(data.pre_regexes).split(kCorpus, pieces);
  std::map<std::string_view, int64_t> piece_counts;
  for (std::string_view piece : pieces) ++piece_counts[piece];
  std::vector<Word> words;
  for (const auto& [piece, count] : piece_counts) {
    Word w{{}, count};
    for (char c : piece) {
      std::string token;
      append_utf8(token, byte_to_code_point(static_cast<uint8_t>(c)));
      w.symbols.push_back(ids.at(token));
    }
    words.push_back(std::move(w));
  }
  while (data.tokens.size() < vocab_size) {
    std::map<std::pair<int32_t, int32_t>, int64_t> pairs;
    for (const Word& w : words)
      for (size_t k = 0; k + 1 < w.symbols.size(); ++k)
        pairs[{w.symbols[k], w.symbols[k + 1]}] += w.count;
    auto best = pairs.end();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (best == pairs.end() || it->second > best->second) best = it;
    if (best == pairs.end() || best->second < 2) break;
    const auto [left, right] = best->first;
    const std::string joined = data.tokens[left] + data.tokens[right];
    data.merges.push_back(data.tokens[left] + " " + data.tokens[right]);
    auto [it, added] = ids.emplace(joined, static_cast<int32_t>(data.tokens.size()));
    if (added) {
      data.tokens.push_back(joined);
      data.token_types.push_back(TokenType::kNormal);
    }
    for (Word& w : words) {
      std::vector<int32_t> merged;
      for (size_t k = 0; k < w.symbols.size(); ++k) {
        if (k + 1 < w.symbols.size() && w.symbols[k] == left && w.symbols[k + 1] == right) {
          merged.push_back(it->second);
          ++k;
        } else {
          merged.push_back(w.symbols[k]);
        }
      }
      w.symbols = std::move(merged);
    }
  }
  for (size_t n = 0; data.tokens.size() < vocab_size; ++n) {
    data.tokens.push_back(str_cat("<｜place▁holder▁no▁", n, "｜>"));
    data.token_types.push_back(TokenType::kControl);
  }
  return data;
}

}  // namespace dsv4::render
