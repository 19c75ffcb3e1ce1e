#include "apps/tokenizer_gguf.h"

#include "base/error.h"
#include "render/pretokenizer.h"

namespace dsv4::apps {

using gguf::Value;
using render::TokenType;

void write_tokenizer_metadata(gguf::GgufWriter& writer, const render::TokenizerData& data) {
  writer.add_metadata(std::string(kTokenizerModelKey), Value::of_string("gpt2"));
  if (!data.pre_name.empty())
    writer.add_metadata(std::string(kPreKey), Value::of_string(data.pre_name));
  writer.add_metadata(std::string(kPreRegexesKey), Value::of_string_array(data.pre_regexes));
  writer.add_metadata(std::string(kTokensKey), Value::of_string_array(data.tokens));
  std::vector<int32_t> types;
  types.reserve(data.token_types.size());
  for (TokenType t : data.token_types) types.push_back(static_cast<int32_t>(t));
  writer.add_metadata(std::string(kTokenTypeKey), Value::of_i32_array(types));
  writer.add_metadata(std::string(kMergesKey), Value::of_string_array(data.merges));
  if (data.bos_id >= 0)
    writer.add_metadata(std::string(kBosKey), Value::of_u32(static_cast<uint32_t>(data.bos_id)));
  if (data.eos_id >= 0)
    writer.add_metadata(std::string(kEosKey), Value::of_u32(static_cast<uint32_t>(data.eos_id)));
}

render::TokenizerData read_tokenizer_metadata(const gguf::GgufFile& file) {
  const std::string model = file.get_string(kTokenizerModelKey);
  if (model != "gpt2")
    fail(file.path(), ": ", kTokenizerModelKey, " is '", model,
         "', only 'gpt2' (byte-level BPE) is supported");
  render::TokenizerData data;
  data.tokens = file.get_string_array(kTokensKey);
  data.merges =
      file.has(kMergesKey) ? file.get_string_array(kMergesKey) : std::vector<std::string>{};
  if (file.has(kTokenTypeKey)) {
    const std::vector<int64_t> types = file.get_int_array(kTokenTypeKey);
    if (types.size() != data.tokens.size())
      fail(file.path(), ": ", kTokenTypeKey, " has ", types.size(), " entries for ",
           data.tokens.size(), " tokens");
    for (size_t id = 0; id < types.size(); ++id) {
      if (types[id] < 1 || types[id] > 6)
        fail(file.path(), ": ", kTokenTypeKey, " element ", id, " is ", types[id],
             ", not a token type (1..6)");
      data.token_types.push_back(static_cast<TokenType>(types[id]));
    }
  } else {
    data.token_types.assign(data.tokens.size(), TokenType::kNormal);
  }
  data.pre_name = file.get_string_opt(kPreKey).value_or("");
  if (file.has(kPreRegexesKey)) {
    data.pre_regexes = file.get_string_array(kPreRegexesKey);
  } else if (auto known = render::known_pre_regexes(data.pre_name)) {
    data.pre_regexes = std::move(*known);
  } else {
    fail(file.path(), ": ", kPreKey, " '", data.pre_name, "' is not a pre-tokenizer we know and ",
         kPreRegexesKey, " is absent");
  }
  for (auto [key, id] : {std::pair{kBosKey, &data.bos_id}, std::pair{kEosKey, &data.eos_id}}) {
    if (const auto v = file.get_u32_opt(key)) {
      if (*v >= data.tokens.size())
        fail(file.path(), ": ", key, " ", *v, " is outside the vocabulary");
      *id = static_cast<int32_t>(*v);
    }
  }
  return data;
}

}  // namespace dsv4::apps
