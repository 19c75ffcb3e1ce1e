#include "render/tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <queue>
#include <utility>

#include "base/error.h"
#include "render/byte_level.h"
#include "render/utf8.h"

namespace dsv4::render {

// Added tokens by their text; the root has a direct table because most text bytes start
// no added token and must be skipped fast.
struct Tokenizer::AddedTrie {
  struct Node {
    int32_t token = -1;
    std::vector<std::pair<uint8_t, int32_t>> children;
  };
  std::vector<Node> nodes{Node{}};
  int32_t root[256];

  AddedTrie() { std::fill(std::begin(root), std::end(root), -1); }

  void insert(std::string_view text, int32_t id) {
    int32_t node = -1;
    for (char c : text) {
      const auto byte = static_cast<uint8_t>(c);
      int32_t child = node < 0 ? root[byte] : find_child(node, byte);
      if (child < 0) {
        child = static_cast<int32_t>(nodes.size());
        nodes.emplace_back();
        if (node < 0) {
          root[byte] = child;
        } else {
          nodes[node].children.emplace_back(byte, child);
        }
      }
      node = child;
    }
    if (nodes[node].token < 0) nodes[node].token = id;
  }

  int32_t find_child(int32_t node, uint8_t byte) const {
    for (const auto& [b, child] : nodes[node].children)
      if (b == byte) return child;
    return -1;
  }

  // Longest added token starting at text[pos]: (length, id), length 0 if none.
  std::pair<size_t, int32_t> longest_at(std::string_view text, size_t pos) const {
    std::pair<size_t, int32_t> best{0, -1};
    int32_t node = root[static_cast<uint8_t>(text[pos])];
    for (size_t k = pos + 1; node >= 0; ++k) {
      if (nodes[node].token >= 0) best = {k - pos, nodes[node].token};
      if (k == text.size()) break;
      node = find_child(node, static_cast<uint8_t>(text[k]));
    }
    return best;
  }
};

// Merges one piece, as HF's BPE word does: a heap of candidate merges ordered by (rank,
// position); a popped candidate still applies if its left symbol is alive and the pair at
// that position still merges to the same token. Scratch vectors are reused across pieces.
class Tokenizer::Bpe {
 public:
  explicit Bpe(const Tokenizer& t) : t_(t) {}

  void encode(std::string_view piece, std::vector<int32_t>& out) {
    symbols_.clear();
    for (char c : piece) {
      const int32_t id = t_.byte_ids_[static_cast<uint8_t>(c)];
      if (id < 0) continue;  // no token for this byte: dropped, as HF does without unk
      const auto index = static_cast<int32_t>(symbols_.size());
      symbols_.push_back({id, index - 1, index + 1, true});
    }
    if (symbols_.empty()) return;
    symbols_.back().next = -1;
    if (symbols_.size() > 1) merge_all();
    for (const Symbol& s : symbols_)
      if (s.alive) out.push_back(s.id);
  }

 private:
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t result;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };

  void push_candidate(int32_t pos) {
    const int32_t next = symbols_[pos].next;
    if (next < 0) return;
    if (const Merge* m = t_.find_merge(symbols_[pos].id, symbols_[next].id))
      heap_.push({m->rank, pos, m->result});
  }

  void merge_all() {
    heap_ = {};
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols_.size()); ++i) push_candidate(i);
    while (!heap_.empty()) {
      const Candidate top = heap_.top();
      heap_.pop();
      Symbol& left = symbols_[top.pos];
      if (!left.alive || left.next < 0) continue;
      Symbol& right = symbols_[left.next];
      const Merge* m = t_.find_merge(left.id, right.id);
      if (m == nullptr || m->result != top.result) continue;
      left.id = top.result;
      right.alive = false;
      left.next = right.next;
      if (left.next >= 0) symbols_[left.next].prev = top.pos;
      if (left.prev >= 0) push_candidate(left.prev);
      push_candidate(top.pos);
    }
  }

  const Tokenizer& t_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap_;
};

Tokenizer::Tokenizer(TokenizerData data)
    : data_(std::move(data)),
      pre_tokenizer_(data_.pre_regexes),
      added_(std::make_unique<AddedTrie>()) {
  const size_t n = data_.tokens.size();
  if (n == 0) fail("tokenizer: empty vocabulary");
  if (n > static_cast<size_t>(INT32_MAX))
    fail("tokenizer: ", n, " tokens exceed the int32 id range");
  if (data_.token_types.size() != n)
    fail("tokenizer: ", data_.token_types.size(), " token types for ", n, " tokens");
  for (int32_t special : {data_.bos_id, data_.eos_id})
    if (special < -1 || special >= static_cast<int64_t>(n))
      fail("tokenizer: special token id ", special, " outside the vocabulary of ", n);

  token_ids_.reserve(n);
  token_bytes_.resize(n);
  for (size_t id = 0; id < n; ++id) {
    const std::string& token = data_.tokens[id];
    const TokenType type = data_.token_types[id];
    const bool added = type == TokenType::kControl || type == TokenType::kUserDefined;
    if (added && !token.empty()) added_->insert(token, static_cast<int32_t>(id));
    // Added tokens stay in the BPE vocabulary too, as in HF's model.vocab.
    token_ids_.emplace(token, static_cast<int32_t>(id));
    // HF's byte-level decoder falls back to a token's own text when it is not spelled
    // in the byte alphabet; added tokens always stand for their text.
    std::optional<std::string> bytes;
    if (!added) bytes = byte_level_decode(token);
    token_bytes_[id] = bytes ? std::move(*bytes) : token;
  }
  for (unsigned b = 0; b < 256; ++b) {
    std::string spelled;
    append_utf8(spelled, byte_to_code_point(static_cast<uint8_t>(b)));
    const auto it = token_ids_.find(spelled);
    byte_ids_[b] = it == token_ids_.end() ? -1 : it->second;
  }

  merges_.reserve(data_.merges.size());
  for (size_t rank = 0; rank < data_.merges.size(); ++rank) {
    const std::string& merge = data_.merges[rank];
    const size_t space = merge.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == merge.size() ||
        merge.find(' ', space + 1) != std::string::npos)
      fail("tokenizer: merge ", rank, " '", merge, "' is not '<left> <right>'");
    const std::string_view left(merge.data(), space);
    const std::string_view right(merge.data() + space + 1, merge.size() - space - 1);
    const std::string joined = std::string(left) + std::string(right);
    const auto l = token_ids_.find(left), r = token_ids_.find(right), j = token_ids_.find(joined);
    if (l == token_ids_.end() || r == token_ids_.end() || j == token_ids_.end())
      fail("tokenizer: merge ", rank, " '", merge, "' refers to a token not in the vocabulary");
    // A repeated pair keeps its last rank, as HF's merge map does.
    merges_[(uint64_t(uint32_t(l->second)) << 32) | uint32_t(r->second)] = {
        static_cast<int32_t>(rank), j->second};
  }
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

const Tokenizer::Merge* Tokenizer::find_merge(int32_t left, int32_t right) const {
  const auto it = merges_.find((uint64_t(uint32_t(left)) << 32) | uint32_t(right));
  return it == merges_.end() ? nullptr : &it->second;
}

std::optional<int32_t> Tokenizer::find_token(std::string_view token) const {
  if (const auto it = token_ids_.find(token); it != token_ids_.end()) return it->second;
  return std::nullopt;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool special) const {
  std::vector<int32_t> out;
  encode(text, special, out);
  return out;
}

void Tokenizer::encode(std::string_view text, bool special, std::vector<int32_t>& out) const {
  if (!special) {
    encode_ordinary(text, out);
    return;
  }
  size_t segment = 0;
  for (size_t pos = 0; pos < text.size();) {
    if (added_->root[static_cast<uint8_t>(text[pos])] < 0) {
      ++pos;
      continue;
    }
    const auto [length, id] = added_->longest_at(text, pos);
    if (length == 0) {
      ++pos;
      continue;
    }
    encode_ordinary(text.substr(segment, pos - segment), out);
    out.push_back(id);
    pos += length;
    segment = pos;
  }
  encode_ordinary(text.substr(segment), out);
}

void Tokenizer::encode_ordinary(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  std::vector<std::string_view> pieces;
  pre_tokenizer_.split(text, pieces);
  // Text repeats its words, so each distinct piece is merged once per call.
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> seen;
  std::vector<int32_t> seen_ids;
  Bpe bpe(*this);
  for (std::string_view piece : pieces) {
    if (const auto it = seen.find(piece); it != seen.end()) {
      const auto [begin, count] = it->second;
      out.insert(out.end(), seen_ids.begin() + begin, seen_ids.begin() + begin + count);
      continue;
    }
    const size_t before = out.size();
    bpe.encode(piece, out);
    seen.emplace(piece, std::pair<uint32_t, uint32_t>(static_cast<uint32_t>(seen_ids.size()),
                                                      static_cast<uint32_t>(out.size() - before)));
    seen_ids.insert(seen_ids.end(), out.begin() + before, out.end());
  }
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    fail("token id ", id, " outside the vocabulary of ", vocab_size());
  return token_bytes_[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) out += token_bytes(id);
  return out;
}

std::string StreamingDetokenizer::push(int32_t id) {
  pending_ += tokenizer_->token_bytes(id);
  const size_t ready = utf8_stable_prefix(pending_);
  std::string out = pending_.substr(0, ready);
  pending_.erase(0, ready);
  return out;
}

std::string StreamingDetokenizer::flush() {
  return std::exchange(pending_, {});
}

}  // namespace dsv4::render
