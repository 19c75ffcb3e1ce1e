// The tokenizer in GGUF metadata: llama.cpp's "gpt2" keys (tokens, merges, token types,
// BOS/EOS, pre-tokenizer name) plus our key with the exact pre-tokenizer regexes, so that our
// files describe themselves while files from llama.cpp or ds4 (which only name the
// pre-tokenizer) load too. Reading needs only the metadata: a GGUF without tensors is enough.
#pragma once

#include <string_view>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "render/tokenizer_data.h"

namespace dsv4::apps {

inline constexpr std::string_view kTokenizerModelKey = "tokenizer.ggml.model";
inline constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";
inline constexpr std::string_view kMergesKey = "tokenizer.ggml.merges";
inline constexpr std::string_view kTokenTypeKey = "tokenizer.ggml.token_type";
inline constexpr std::string_view kBosKey = "tokenizer.ggml.bos_token_id";
inline constexpr std::string_view kEosKey = "tokenizer.ggml.eos_token_id";
inline constexpr std::string_view kPreKey = "tokenizer.ggml.pre";
inline constexpr std::string_view kPreRegexesKey = "tokenizer.dsv4.pre_regexes";

void write_tokenizer_metadata(gguf::GgufWriter& writer, const render::TokenizerData& data);

// Throws dsv4::Error naming the file and key at fault (missing keys, a tokenizer model other
// than "gpt2", lengths that disagree, a pre-tokenizer named but not known).
render::TokenizerData read_tokenizer_metadata(const gguf::GgufFile& file);

}  // namespace dsv4::apps
