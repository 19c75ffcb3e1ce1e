// Helpers shared by the session state tests: models, token sequences, state comparison.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model_config.h"
#include "engine/session.h"

namespace dsv4::testing {

// A model like synthetic_model(vocab), with other random weights: the same shapes and tensor
// names, so only the fingerprint's sample of the weights tells the two apart.
std::string synthetic_model_with_seed(int vocab, uint64_t seed);

// Reproducible token ids spread over the vocabulary.
std::vector<int32_t> spread_tokens(int vocab, size_t count);

// Index of the first float whose bits differ, or -1.
int64_t first_difference(std::span<const float> a, std::span<const float> b);

// Whether the session holds exactly `snapshot`'s state, byte for byte (tokens, logits,
// every row and frontier value, row counts).
bool same_state(const engine::Session& session, const engine::SessionSnapshot& snapshot);

// Checks that a session file grows per token by the KV formula (KvState::planned_bytes) plus
// the token id, in ref and fast precision, and reports the numbers. Between 128 and 256
// tokens every window is complete and the raw window full, so only compressed rows grow.
// With `model_path`, the sizes are those of files saved after evaluating 128 and 256 tokens.
void check_bytes_per_token(const std::string& label, const engine::ModelConfig& config,
                           const std::string* model_path);

// The integer right after the first `marker` in `text` that a digit follows, or -1 (for
// reading the statistics the commands print).
long integer_after(std::string_view text, std::string_view marker);

std::vector<uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace dsv4::testing
