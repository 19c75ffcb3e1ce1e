#include "render/pretokenizer.h"

#include <algorithm>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/error.h"
#include "render/utf8.h"

namespace dsv4::render {

const std::vector<std::string>& deepseek_pre_regexes() {
  static const std::vector<std::string> kRegexes = {
      R"re(\p{N}{1,3})re",
      R"re([一-龥぀-ゟ゠-ヿ]+)re",
      R"re([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re",
  };
  return kRegexes;
}

std::optional<std::vector<std::string>> known_pre_regexes(std::string_view name) {
  if (name == kDeepSeekPreName || name == "deepseek-v3") return deepseek_pre_regexes();
  return std::nullopt;
}

namespace {

// HF `tokenizers` matches with Oniguruma, whose \s is Unicode's White_Space property. PCRE2's
// \s with UCP also matches U+180E (no longer White_Space since Unicode 6.3), so \s and \S
// are spelled out as explicit classes before compiling.
constexpr std::string_view kWhiteSpace =
    R"(\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

std::string with_oniguruma_whitespace(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpace) : str_cat("[", kWhiteSpace, "]");
      } else if (e == 'S' && !in_class) {
        out += str_cat("[^", kWhiteSpace, "]");
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

}  // namespace

struct PreTokenizer::Impl {
  struct Regex {
    pcre2_code* code = nullptr;
    bool jit = false;
  };
  std::vector<Regex> regexes;
  pcre2_match_context* match_context = nullptr;

  ~Impl() {
    for (Regex& r : regexes) pcre2_code_free(r.code);
    pcre2_match_context_free(match_context);
  }

  // Splits every piece of `in` by regex `r` into `out`.
  void split_pieces(const Regex& r, const std::vector<std::string_view>& in,
                    std::vector<std::string_view>& out, pcre2_match_data* md) const {
    for (std::string_view piece : in) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      const size_t length = piece.size();
      size_t last = 0;
      size_t start = 0;
      while (start < length) {
        int rc = r.jit ? pcre2_jit_match(r.code, subject, length, start, 0, md, match_context)
                       : PCRE2_ERROR_JIT_STACKLIMIT;
        // The interpreter keeps its backtracking frames on the heap: the fallback when the
        // JIT's fixed stack is not enough (or JIT is unavailable).
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
          rc = pcre2_match(r.code, subject, length, start, PCRE2_NO_JIT, md, match_context);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          PCRE2_UCHAR message[256];
          pcre2_get_error_message(rc, message, sizeof message);
          fail("pre-tokenizer: regex match failed: ", reinterpret_cast<const char*>(message));
        }
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(md);
        const size_t begin = ovector[0];
        const size_t end = ovector[1];
        if (end == begin) {  // an empty match isolates nothing (HF drops empty pieces)
          start = end + std::max<size_t>(1, utf8_sequence_length(piece, end));
          continue;
        }
        if (begin > last) out.push_back(piece.substr(last, begin - last));
        out.push_back(piece.substr(begin, end - begin));
        last = start = end;
      }
      if (last < length) out.push_back(piece.substr(last));
    }
  }
};

PreTokenizer::PreTokenizer(const std::vector<std::string>& regexes)
    : impl_(std::make_unique<Impl>()) {
  if (regexes.empty()) fail("pre-tokenizer: no regexes given");
  // A run of millions of spaces costs as many backtracking steps in `\s*[\r\n]+` before
  // `\s+(?!\S)` matches it: linear, but beyond PCRE2's default limit of ten million.
  impl_->match_context = pcre2_match_context_create(nullptr);
  if (impl_->match_context == nullptr) fail("pre-tokenizer: out of memory");
  pcre2_set_match_limit(impl_->match_context, UINT32_MAX);
  pcre2_set_heap_limit(impl_->match_context, UINT32_MAX);
  for (const std::string& original : regexes) {
    const std::string source = with_oniguruma_whitespace(original);
    int error = 0;
    PCRE2_SIZE offset = 0;
    // UCP: \s, \d and POSIX classes follow Unicode properties as in HF's Oniguruma.
    // MATCH_INVALID_UTF: model output and user text may hold invalid UTF-8; it never matches.
    pcre2_code* code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(),
                      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof message);
      fail("pre-tokenizer regex '", original, "' at offset ", offset, ": ",
           reinterpret_cast<const char*>(message));
    }
    const bool jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    impl_->regexes.push_back({code, jit});
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces) const {
  if (text.empty()) return;
  const std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
      pcre2_match_data_create(1, nullptr), pcre2_match_data_free);
  if (md == nullptr) fail("pre-tokenizer: out of memory");
  std::vector<std::string_view> current{text};
  std::vector<std::string_view> next;
  for (size_t k = 0; k < impl_->regexes.size(); ++k) {
    const bool last = k + 1 == impl_->regexes.size();
    next.clear();
    impl_->split_pieces(impl_->regexes[k], current, last ? pieces : next, md.get());
    current.swap(next);
  }
}

}  // namespace dsv4::render
