// Binds the tensors of a DeepSeek V4 GGUF to the model structure. Every tensor is checked
// for presence, shape and an allowed type before any computation; an error names the tensor,
// the expected and the found shape/type. Matrices stay in the mapped file; small vectors
// (norms, sinks, hyper-connection scales, APE) are decoded to f32 once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/model_config.h"
#include "simd/matmul.h"

namespace dsv4::gguf {
class GgufFile;
}

namespace dsv4::engine {

using simd::MatrixView;

// A 3-D expert tensor [cols, rows, n_experts]: expert e is a contiguous rows×cols matrix.
struct ExpertMatrices {
  simd::TensorType type = simd::TensorType::F32;
  const uint8_t* data = nullptr;
  int64_t n_experts = 0, rows = 0, cols = 0;
  size_t expert_stride = 0;

  MatrixView expert(int e) const;
};

// Parameters of one hyper-connection mix (attention or FFN side, or the output head).
struct HyperConnectionWeights {
  MatrixView fn;             // rows = mixes, cols = hc_count · hidden
  std::vector<float> scale;  // 3 (pre, post, comb), or 1 for the output head
  std::vector<float> base;   // one per mix
};

struct CompressorWeights {
  MatrixView kv, gate;      // rows = lanes · width, cols = hidden
  std::vector<float> ape;   // ratio rows of lanes · width
  std::vector<float> norm;  // width
};

struct LayerWeights {
  HyperConnectionWeights hc_attn, hc_ffn;
  std::vector<float> attn_norm, ffn_norm;
  MatrixView q_a, q_b, kv, out_a, out_b;
  std::vector<float> q_a_norm, kv_norm, sinks;
  bool has_compressor = false, has_indexer = false;
  CompressorWeights compressor;
  CompressorWeights indexer_compressor;
  MatrixView indexer_q_b, indexer_proj;
  MatrixView router;                          // rows = experts
  std::vector<float> router_bias;             // empty when the layer has none
  const int32_t* token_to_experts = nullptr;  // hash layers: row t = experts of token t
  ExpertMatrices gate_exps, up_exps, down_exps;
  bool has_shared_expert = false;
  MatrixView shared_gate, shared_up, shared_down;
};

struct ModelWeights {
  ModelConfig config;
  MatrixView token_embd;  // rows = vocab
  MatrixView output;      // rows = vocab
  std::vector<float> output_norm;
  HyperConnectionWeights output_hc;
  std::vector<LayerWeights> layers;
  uint64_t bytes = 0;  // bytes of all bound tensors
  int64_t vocab_rows = 0;

  // Throws dsv4::Error "<file>: <tensor>: ..." for the first missing or mismatched tensor.
  static ModelWeights bind(const gguf::GgufFile& file, const ModelConfig& config);
};

// GGUF tensor names, as llama.cpp and ds4 write them.
std::string layer_tensor(int layer, const char* suffix);

}  // namespace dsv4::engine
