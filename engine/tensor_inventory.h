// Every tensor of a DeepSeek V4 GGUF for a given config: its GGUF name and dims, the name it
// has in DeepSeek's release checkpoint, its role (which decides the stored type) and the
// scale of its values (used to make synthetic weights that behave like trained ones). The
// converter and `dsv4 synth` both walk this list, so the two agree by construction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/model_config.h"
#include "simd/formats.h"

namespace dsv4::engine {

enum class TensorRole {
  kEmbedding,     // token_embd: BF16 in the release
  kDense,         // FP8 projections and the output head: stored as --dense
  kSmallMatrix,   // BF16 matrices (router, compressors, indexer head weights)
  kF32Matrix,     // hyper-connection projections: F32 in the release, kept F32
  kVector,        // 1-D parameters (norms, sinks, scales, biases): F32
  kPositionBias,  // compressor APE [ratio, width]: F32 rows
  kExperts,       // routed experts, 3-D; the release has one FP4 tensor per expert
  kHashTable,     // token → experts (I64 in the release, I32 in GGUF)
};

struct TensorSpec {
  std::string name;           // GGUF
  std::vector<int64_t> dims;  // GGUF order, ne0 first
  TensorRole role;
  std::string release_name;  // release checkpoint name; experts: a prefix with "{e}" for the expert
  std::string kind;          // human label for reports ("attention", "routed experts", ...)
  float init_std = 0, init_mean = 0;

  int64_t rows() const;  // product of all dims but the first
  int64_t cols() const { return dims[0]; }
};

// The type a tensor is stored as given the user's dense and expert types: BF16-origin
// matrices stay BF16 unless f16/f32 storage is asked for, vectors and hyper-connection
// matrices stay F32. When rows are not a whole number of the chosen type's blocks (K-quants
// need 256), Q8_0 (or F16) is used instead and `note` says so.
simd::TensorType storage_type(const TensorSpec& spec, simd::TensorType dense,
                              simd::TensorType experts, std::string* note);

// `with_router_bias`: whether non-hash layers carry `exp_probs_b.bias` (always in synthetic
// models; in a release checkpoint when present).
std::vector<TensorSpec> tensor_inventory(const ModelConfig& config, bool with_router_bias = true);

}  // namespace dsv4::engine
