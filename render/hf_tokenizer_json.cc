#include "render/hf_tokenizer_json.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/json_limits.h"
#include "render/pretokenizer.h"

namespace dsv4::render {
namespace {

using nlohmann::json;

const json& member(const json& object, const char* key, std::string_view where) {
  if (!object.is_object() || !object.contains(key)) fail(where, ": missing '", key, "'");
  return object.at(key);
}

std::string string_member(const json& object, const char* key, std::string_view where) {
  const json& v = member(object, key, where);
  if (!v.is_string()) fail(where, ".", key, ": expected a string");
  return v.get<std::string>();
}

bool is_null_or_false(const json& object, const char* key) {
  return !object.contains(key) || object.at(key).is_null() || object.at(key) == false;
}

// Regexes of the Split pre-tokenizers, checking that the sequence is one we reproduce.
std::vector<std::string> pre_tokenizer_regexes(const json& pre, const std::string& where) {
  if (string_member(pre, "type", where) != "Sequence") fail(where, ".type: expected 'Sequence'");
  const json& list = member(pre, "pretokenizers", where);
  if (!list.is_array() || list.empty()) fail(where, ".pretokenizers: expected a non-empty array");
  std::vector<std::string> regexes;
  for (size_t k = 0; k < list.size(); ++k) {
    const json& p = list[k];
    const std::string at = str_cat(where, ".pretokenizers[", k, "]");
    const std::string type = string_member(p, "type", at);
    if (k + 1 == list.size()) {
      if (type != "ByteLevel") fail(at, ": expected the sequence to end in ByteLevel");
      if (p.value("use_regex", true)) fail(at, ".use_regex: only false is supported");
      if (p.value("add_prefix_space", false))
        fail(at, ".add_prefix_space: only false is supported");
      continue;
    }
    if (type != "Split") fail(at, ".type: '", type, "' is not supported (only Split)");
    if (string_member(p, "behavior", at) != "Isolated")
      fail(at, ".behavior: only 'Isolated' is supported");
    if (p.value("invert", false)) fail(at, ".invert: only false is supported");
    const json& pattern = member(p, "pattern", at);
    if (!pattern.is_object() || !pattern.contains("Regex") || !pattern.at("Regex").is_string())
      fail(at, ".pattern: expected {\"Regex\": ...}");
    regexes.push_back(pattern.at("Regex").get<std::string>());
  }
  if (regexes.empty()) fail(where, ": no Split regexes");
  return regexes;
}

// tokenizer_config.json names special tokens either as a string or {"content": ...}.
std::optional<std::string> config_token(const json& config, const char* key) {
  if (!config.contains(key)) return std::nullopt;
  const json& v = config.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v.at("content").is_string())
    return v.at("content").get<std::string>();
  return std::nullopt;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TokenizerData parse_hf_tokenizer(std::string_view tokenizer_json, std::string_view config_json,
                                 std::string_view label) {
  const std::string where(label);
  const json root = parse_json_limited(tokenizer_json, where, {.max_bytes = size_t{1} << 30});
  if (!root.is_object()) fail(where, ": expected a JSON object");
  if (root.contains("normalizer") && !root.at("normalizer").is_null())
    fail(where, ".normalizer: only null is supported");

  const json& model = member(root, "model", where);
  if (string_member(model, "type", where + ".model") != "BPE")
    fail(where, ".model.type: only BPE is supported");
  for (const char* key : {"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix",
                          "byte_fallback", "ignore_merges"})
    if (!is_null_or_false(model, key))
      fail(where, ".model.", key, ": only null/false is supported");

  TokenizerData data;
  const json& vocab = member(model, "vocab", where + ".model");
  if (!vocab.is_object()) fail(where, ".model.vocab: expected an object");
  const json empty_array = json::array();
  const json& added = root.contains("added_tokens") ? root.at("added_tokens") : empty_array;
  if (!added.is_array()) fail(where, ".added_tokens: expected an array");

  // Ids must be dense: the GGUF token list is indexed by id.
  std::vector<bool> present;
  auto place = [&](int64_t id, const std::string& token, TokenType type, std::string_view what) {
    if (id < 0 || id > INT32_MAX) fail(where, ".", what, ": id ", id, " out of range");
    const auto index = static_cast<size_t>(id);
    if (index >= data.tokens.size()) {
      data.tokens.resize(index + 1);
      data.token_types.resize(index + 1, TokenType::kNormal);
      present.resize(index + 1, false);
    }
    if (present[index] && data.tokens[index] != token)
      fail(where, ".", what, ": id ", id, " is both '", data.tokens[index], "' and '", token, "'");
    data.tokens[index] = token;
    present[index] = true;
    if (type != TokenType::kNormal) data.token_types[index] = type;
  };
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer()) fail(where, ".model.vocab['", token, "']: expected an integer id");
    place(id.get<int64_t>(), token, TokenType::kNormal, "model.vocab");
  }
  for (size_t k = 0; k < added.size(); ++k) {
    const std::string at = str_cat("added_tokens[", k, "]");
    const json& a = added[k];
    const json& id = member(a, "id", where + "." + at);
    if (!id.is_number_integer()) fail(where, ".", at, ".id: expected an integer");
    const bool special = a.value("special", false);
    place(id.get<int64_t>(), string_member(a, "content", where + "." + at),
          special ? TokenType::kControl : TokenType::kUserDefined, at);
  }
  for (size_t id = 0; id < present.size(); ++id)
    if (!present[id]) fail(where, ": no token has id ", id, " (ids must be dense)");

  const json& merges = member(model, "merges", where + ".model");
  if (!merges.is_array()) fail(where, ".model.merges: expected an array");
  data.merges.reserve(merges.size());
  for (size_t k = 0; k < merges.size(); ++k) {
    const json& m = merges[k];
    // Older files spell a merge "a b", newer ones ["a", "b"].
    if (m.is_string()) {
      data.merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      data.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      fail(where, ".model.merges[", k, "]: expected \"a b\" or [\"a\", \"b\"]");
    }
  }

  data.pre_regexes =
      pre_tokenizer_regexes(member(root, "pre_tokenizer", where), where + ".pre_tokenizer");
  data.pre_name = data.pre_regexes == deepseek_pre_regexes() ? std::string(kDeepSeekPreName) : "";

  if (!config_json.empty()) {
    const std::string config_where = where + " (tokenizer_config)";
    const json config = parse_json_limited(config_json, config_where);
    if (!config.is_object()) fail(config_where, ": expected a JSON object");
    auto resolve = [&](const char* key) -> int32_t {
      const auto token = config_token(config, key);
      if (!token) return -1;
      for (size_t id = 0; id < data.tokens.size(); ++id)
        if (data.tokens[id] == *token) return static_cast<int32_t>(id);
      fail(config_where, ".", key, ": '", *token, "' is not a token");
    };
    data.bos_id = resolve("bos_token");
    data.eos_id = resolve("eos_token");
  }
  return data;
}

TokenizerData load_hf_tokenizer_dir(const std::string& dir) {
  const std::string tokenizer_path = dir + "/tokenizer.json";
  const std::string config_path = dir + "/tokenizer_config.json";
  const std::string config = std::filesystem::exists(config_path) ? read_file(config_path) : "";
  return parse_hf_tokenizer(read_file(tokenizer_path), config, tokenizer_path);
}

}  // namespace dsv4::render
