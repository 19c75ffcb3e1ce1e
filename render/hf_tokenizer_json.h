// Reads a Hugging Face `tokenizer.json` (+ optional `tokenizer_config.json` for BOS/EOS) of a
// byte-level BPE tokenizer shaped like DeepSeek's: no normalizer, a pre-tokenizer Sequence of
// Split(Regex, Isolated) ending in ByteLevel without its own regex, a BPE model without
// dropout, unk or byte fallback. Anything else is refused with an error naming the field.
#pragma once

#include <string>
#include <string_view>

#include "render/tokenizer_data.h"

namespace dsv4::render {

// `config_text` may be empty (no tokenizer_config.json): BOS/EOS then stay -1.
// `label` names the source in errors (usually the file path).
TokenizerData parse_hf_tokenizer(std::string_view tokenizer_json, std::string_view config_json,
                                 std::string_view label = "tokenizer.json");

// Reads `dir`/tokenizer.json and, when present, `dir`/tokenizer_config.json.
TokenizerData load_hf_tokenizer_dir(const std::string& dir);

}  // namespace dsv4::render
