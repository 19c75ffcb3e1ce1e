// Tokenizer: tiny-a's official vectors, the prompt sequence, special-token handling, the
// Oniguruma whitespace class, round trips of random text and bytes, the streaming
// detokenizer, the synthetic vocabulary, and a throughput report.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/npy.h"
#include "render/hf_tokenizer_json.h"
#include "render/pretokenizer.h"
#include "render/synthetic_vocab.h"
#include "render/tokenizer.h"
#include "render/utf8.h"
#include "tests/support/testdata.h"

using namespace dsv4::render;
using dsv4::testing::require_testdata;

namespace {

const Tokenizer& tiny_a_tokenizer(const std::string& dir) {
  static const Tokenizer tokenizer(load_hf_tokenizer_dir(dir));
  return tokenizer;
}

std::string code_point_text(char32_t cp) {
  std::string s;
  append_utf8(s, cp);
  return s;
}

// Random valid UTF-8 weighted towards what the pre-tokenizer distinguishes: ASCII letters,
// digits, punctuation, all kinds of white space, CJK and kana, combining marks, emoji and
// arbitrary code points of every plane.
std::string random_text(std::mt19937_64& rng) {
  static const std::vector<char32_t> kSpecial = {
      ' ',    '\t',   '\n',   '\r',   0x0B,   0x0C,   0x85,   0xA0,   0x1680, 0x180E, 0x2000,
      0x2028, 0x3000, 0x200B, 0xFEFF, 0x0301, 0x20DD, 0xFF5C, 0x2581, 0x7E,   0x1F600};
  std::uniform_int_distribution<int> length(0, 48);
  std::uniform_int_distribution<int> kind(0, 9);
  std::string out;
  for (int n = length(rng); n > 0; --n) {
    char32_t cp;
    switch (kind(rng)) {
      case 0:
      case 1:
        cp = static_cast<char32_t>('a' + rng() % 26 - (rng() % 3 == 0 ? 32 : 0));
        break;
      case 2:
        cp = static_cast<char32_t>('0' + rng() % 10);
        break;
      case 3:
        cp = static_cast<char32_t>("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"[rng() % 32]);
        break;
      case 4:
        cp = kSpecial[rng() % kSpecial.size()];
        break;
      case 5:
        cp = static_cast<char32_t>(0x4E00 + rng() % (0x9FA5 - 0x4E00 + 1));
        break;
      case 6:
        cp = static_cast<char32_t>(0x3040 + rng() % 0xC0);
        break;
      case 7:
        cp = static_cast<char32_t>(0x80 + rng() % 0x780);
        break;
      default:
        do cp = static_cast<char32_t>(rng() % 0x110000);
        while (cp >= 0xD800 && cp < 0xE000);
    }
    append_utf8(out, cp);
  }
  return out;
}

}  // namespace

TEST_CASE("tokenizer: every tiny-a vector (plain without specials - rendered with)") {
  const auto dir = require_testdata("tiny-a");
  if (!dir) return;
  const Tokenizer& tokenizer = tiny_a_tokenizer(*dir);
  const auto vectors =
      nlohmann::json::parse(dsv4::testing::read_file(*dir + "/tokenizer_vectors.json"));
  size_t checked = 0;
  for (const char* kind : {"plain", "rendered"}) {
    const bool special = std::string(kind) == "rendered";
    REQUIRE(vectors.at(kind).size() > 0);
    for (const auto& v : vectors.at(kind)) {
      const std::string text = v.at("text").get<std::string>();
      CAPTURE(text);
      const auto ids = tokenizer.encode(text, special);
      CHECK(ids == v.at("ids").get<std::vector<int32_t>>());
      CHECK(tokenizer.decode(ids) == text);
      ++checked;
    }
  }
  MESSAGE(checked, " tokenizer vectors checked");
}

TEST_CASE("tokenizer: tiny-a's evaluation prompt gives prompt_tokens.npy") {
  const auto dir = require_testdata("tiny-a");
  if (!dir) return;
  const auto expected = dsv4::read_npy_tokens(*dir + "/prompt_tokens.npy");
  const auto ids = tiny_a_tokenizer(*dir).encode(dsv4::testing::read_file(*dir + "/prompt.txt"));
  REQUIRE(ids.size() >= expected.size());
  CHECK(std::vector<int32_t>(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(expected.size())) ==
        expected);
}

TEST_CASE(
    "detokenizer: greedy.json's tokens decode to its text (HF: unknown ids skipped, lossy UTF-8)") {
  const auto dir = require_testdata("tiny-a");
  if (!dir) return;
  const Tokenizer& t = tiny_a_tokenizer(*dir);
  const auto greedy = nlohmann::json::parse(dsv4::testing::read_file(*dir + "/greedy.json"));
  CHECK(t.encode(greedy.at("prompt").get<std::string>(), true) ==
        greedy.at("prompt_tokens").get<std::vector<int32_t>>());
  // The model's head is wider than the tokenizer: ids past it have no text.
  std::vector<int32_t> known;
  for (int32_t id : greedy.at("greedy_tokens").get<std::vector<int32_t>>())
    if (id < t.vocab_size()) known.push_back(id);
  CHECK(sanitize_utf8(t.decode(known)) == greedy.at("greedy_text").get<std::string>());
}

TEST_CASE("tokenizer: the built-in DeepSeek regexes are those of tiny-a's tokenizer.json") {
  const auto dir = require_testdata("tiny-a");
  if (!dir) return;
  const TokenizerData data = load_hf_tokenizer_dir(*dir);
  CHECK(data.pre_regexes == deepseek_pre_regexes());
  CHECK(data.pre_name == kDeepSeekPreName);
  CHECK(known_pre_regexes("deepseek-v3") == deepseek_pre_regexes());
  CHECK(known_pre_regexes("joyai-llm") == deepseek_pre_regexes());
  CHECK_FALSE(known_pre_regexes("gpt-2").has_value());
  CHECK(data.bos_id == 0);
  CHECK(data.eos_id == 1);
}

TEST_CASE("tokenizer: special tokens only when asked - leftmost-longest") {
  const auto dir = require_testdata("tiny-a");
  if (!dir) return;
  const Tokenizer& t = tiny_a_tokenizer(*dir);
  const std::string user = "<｜User｜>";
  const int32_t user_id = *t.find_token(user);
  CHECK(t.encode(user, true) == std::vector<int32_t>{user_id});
  const auto plain = t.encode(user, false);
  CHECK(std::find(plain.begin(), plain.end(), user_id) == plain.end());
  CHECK(t.decode(plain) == user);
  // "</think>" must not be read as "<" + "/think>" nor contain a "<think>" match.
  CHECK(t.encode("a</think>b", true) ==
        std::vector<int32_t>{t.encode("a")[0], *t.find_token("</think>"), t.encode("b")[0]});
  // Text around specials is pre-tokenized on its own: a look-ahead does not see across.
  const std::string spaced = "x  <think>";
  auto expected = t.encode("x  ");
  expected.push_back(*t.find_token("<think>"));
  CHECK(t.encode(spaced, true) == expected);
}

TEST_CASE("pre-tokenizer: \\s is Unicode White_Space as in Oniguruma (U+180E is not)") {
  const PreTokenizer pre(deepseek_pre_regexes());
  std::vector<std::string_view> pieces;
  const std::string mvs = code_point_text(0x180E);
  const std::string text = "a  " + mvs + "b";
  pre.split(text, pieces);
  // Two single spaces: "  " + U+180E is not a white-space run, so `\s+(?!\S)` stops early.
  CHECK(pieces == std::vector<std::string_view>{"a", " ", " ", mvs + "b"});
  pieces.clear();
  const std::string ideographic = "a " + code_point_text(0x3000) + "b";
  pre.split(ideographic, pieces);
  CHECK(pieces == std::vector<std::string_view>{"a", " ", code_point_text(0x3000) + "b"});
  pieces.clear();
  pre.split("1234567 x", pieces);
  CHECK(pieces == std::vector<std::string_view>{"123", "456", "7", " x"});
}

TEST_CASE("tokenizer: detokenize(tokenize(x)) == x for 10000 random UTF-8 strings") {
  const auto dir = require_testdata("tiny-a");
  if (!dir) return;
  const Tokenizer& t = tiny_a_tokenizer(*dir);
  const Tokenizer synthetic(synthetic_tokenizer(2048));
  std::mt19937_64 rng(20260601);
  for (int n = 0; n < 10000; ++n) {
    const std::string text = random_text(rng);
    REQUIRE(is_valid_utf8(text));
    CAPTURE(text);
    const auto ids = t.encode(text);
    REQUIRE(t.decode(ids) == text);
    REQUIRE(synthetic.decode(synthetic.encode(text)) == text);
    // Streaming: every piece is whole characters, and the pieces add up.
    StreamingDetokenizer stream(t);
    std::string joined;
    for (int32_t id : ids) {
      const std::string piece = stream.push(id);
      REQUIRE(is_valid_utf8(piece));
      joined += piece;
    }
    joined += stream.flush();
    REQUIRE(joined == text);
  }
}

TEST_CASE("tokenizer: random bytes never crash and still round-trip") {
  const auto dir = require_testdata("tiny-a");
  if (!dir) return;
  const Tokenizer& t = tiny_a_tokenizer(*dir);
  std::mt19937_64 rng(7);
  for (int n = 0; n < 3000; ++n) {
    std::string bytes(rng() % 96, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    if (n % 3 == 0) bytes += "<｜User｜>" + bytes.substr(0, bytes.size() / 2);
    for (bool special : {false, true}) {
      const auto ids = t.encode(bytes, special);
      REQUIRE(t.decode(ids) == bytes);
    }
    StreamingDetokenizer stream(t);
    std::string joined;
    for (int32_t id : t.encode(bytes)) joined += stream.push(id);
    REQUIRE(joined + stream.flush() == bytes);
  }
}

TEST_CASE("tokenizer: long runs (spaces - letters - newlines) tokenize in linear time") {
  const Tokenizer t(synthetic_tokenizer(1024));
  for (const std::string unit : {" ", "a", "\n", " \n", "1", "!"}) {
    std::string text;
    while (text.size() < 200000) text += unit;
    CHECK(t.decode(t.encode(text)) == text);
  }
}

TEST_CASE("tokenizer: decode rejects ids outside the vocabulary") {
  const Tokenizer t(synthetic_tokenizer(300));
  CHECK_THROWS_AS(t.decode(std::vector<int32_t>{300}), dsv4::Error);
  CHECK_THROWS_AS(t.decode(std::vector<int32_t>{-1}), dsv4::Error);
}

TEST_CASE("tokenizer: inconsistent data is refused with the defect named") {
  TokenizerData data = synthetic_tokenizer(400);
  data.merges.push_back("nonexistent token");
  CHECK_THROWS_WITH_AS(Tokenizer{data},
                       doctest::Contains("refers to a token not in the vocabulary"), dsv4::Error);
  data = synthetic_tokenizer(400);
  data.token_types.pop_back();
  CHECK_THROWS_AS(Tokenizer{data}, dsv4::Error);
  data = synthetic_tokenizer(400);
  data.pre_regexes = {"(unclosed"};
  CHECK_THROWS_WITH_AS(Tokenizer{data}, doctest::Contains("(unclosed"), dsv4::Error);
}

TEST_CASE("hf tokenizer.json: unsupported shapes are named") {
  const std::string base = R"({"normalizer": null, "added_tokens": [],
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})";
  const TokenizerData data = parse_hf_tokenizer(base, "");
  CHECK(data.tokens == std::vector<std::string>{"a", "b", "ab"});
  CHECK(data.merges == std::vector<std::string>{"a b"});
  CHECK(data.pre_regexes == std::vector<std::string>{"\\s+"});
  CHECK(data.pre_name.empty());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  CHECK_THROWS_WITH(
      parse_hf_tokenizer(with("\"normalizer\": null", "\"normalizer\": {\"type\": \"NFC\"}"), ""),
      doctest::Contains("normalizer"));
  CHECK_THROWS_WITH(parse_hf_tokenizer(with("\"Isolated\"", "\"Removed\""), ""),
                    doctest::Contains("behavior"));
  CHECK_THROWS_WITH(parse_hf_tokenizer(with("\"ab\": 2", "\"ab\": 3"), ""),
                    doctest::Contains("id 2"));
  CHECK_THROWS_WITH(parse_hf_tokenizer(base, R"({"bos_token": "zzz"})"),
                    doctest::Contains("bos_token"));
}

TEST_CASE("synthetic vocabulary: exact size - DeepSeek specials at 0..14 - deterministic") {
  for (size_t size : {kMinSyntheticVocab, size_t{300}, size_t{1024}, size_t{129280}}) {
    CAPTURE(size);
    const TokenizerData data = synthetic_tokenizer(size);
    CHECK(data.tokens.size() == size);
    CHECK(data.token_types.size() == size);
    CHECK(data.bos_id == 0);
    CHECK(data.eos_id == 1);
    const Tokenizer t(data);
    CHECK(t.decode(t.encode("The model reads 12345 tokens.\n")) ==
          "The model reads 12345 tokens.\n");
    CHECK(t.encode("<｜User｜>", true) == std::vector<int32_t>{3});
  }
  CHECK(synthetic_tokenizer(1024).tokens == synthetic_tokenizer(1024).tokens);
  CHECK(synthetic_tokenizer(1024).merges.size() > 100);
  const Tokenizer t(synthetic_tokenizer(4096));
  CHECK(t.encode(" the").size() == 1);  // frequent words become single tokens
  CHECK_THROWS_AS(synthetic_tokenizer(kMinSyntheticVocab - 1), dsv4::Error);

  const auto dir = require_testdata("tiny-a");
  if (!dir) return;
  const auto hf = nlohmann::json::parse(dsv4::testing::read_file(*dir + "/tokenizer.json"));
  const auto& specials = deepseek_special_tokens();
  REQUIRE(hf.at("added_tokens").size() == specials.size());
  for (const auto& added : hf.at("added_tokens"))
    CHECK(specials.at(added.at("id").get<size_t>()) == added.at("content").get<std::string>());
}

TEST_CASE("tokenizer: throughput on mixed text (report)") {
  const auto dir = require_testdata("tiny-a");
  if (!dir) return;
  const Tokenizer& t = tiny_a_tokenizer(*dir);
  // Mixed text: the tiny-a prompt (prose, CJK, code, numbers) and every plain vector,
  // recombined from random offsets so that most pieces are not plain repeats.
  std::string source = dsv4::testing::read_file(*dir + "/prompt.txt");
  const auto vectors =
      nlohmann::json::parse(dsv4::testing::read_file(*dir + "/tokenizer_vectors.json"));
  for (const auto& v : vectors.at("plain")) source += v.at("text").get<std::string>() + "\n";
  std::mt19937_64 rng(1);
  std::string text;
  const auto boundary = [&](size_t pos) {
    while (pos < source.size() && (static_cast<unsigned char>(source[pos]) & 0xC0) == 0x80) ++pos;
    return pos;
  };
  while (text.size() < (8u << 20)) {
    const size_t at = boundary(rng() % source.size());
    text.append(source, at, boundary(at + 16 + rng() % 256) - at);
  }
  std::vector<int32_t> ids;
  const auto start = std::chrono::steady_clock::now();
  t.encode(text, false, ids);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Small calls (a chat turn at a time) pay the per-call costs on every line.
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < text.size();) {
    const size_t newline = text.find('\n', pos);
    const size_t end = newline == std::string::npos ? text.size() : newline + 1;
    lines.push_back(std::string_view(text).substr(pos, end - pos));
    pos = end;
  }
  const auto start_lines = std::chrono::steady_clock::now();
  for (std::string_view line : lines) {
    ids.clear();
    t.encode(line, false, ids);
  }
  const double line_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_lines).count();
  MESSAGE("tokenizer throughput: ", text.size() / seconds / 1e6, " MB/s in one call, ",
          text.size() / line_seconds / 1e6, " MB/s line by line (", lines.size(), " calls), ",
          text.size() / double(1 << 20), " MiB of mixed text, one core");
}
