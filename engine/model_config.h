// The shape and hyper-parameters of a DeepSeek V4 model, read from GGUF metadata
// (`deepseek4.*` keys, as ds4 and llama.cpp write them). Every size the engine uses comes
// from here; DeepSeek V4 Flash (43 layers, hidden 4096, ...) is one configuration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dsv4::gguf {
class GgufFile;
class GgufWriter;
}  // namespace dsv4::gguf

namespace dsv4::engine {

inline constexpr const char* kArchitecture = "deepseek4";

struct ModelConfig {
  int n_layers = 43;
  int hidden = 4096;
  int vocab = 129280;
  int n_heads = 64;
  int head_dim = 512;  // shared K=V head width, and the width of each query head
  int rope_dim = 64;   // trailing dims of each head that are rotated
  int q_lora_rank = 1024;
  int o_lora_rank = 1024;
  int o_groups = 8;
  int n_experts = 256;
  int n_experts_used = 6;
  int n_shared_experts = 1;
  int expert_ffn = 2048;
  int n_hash_layers = 3;
  int window = 128;
  int indexer_heads = 64;
  int indexer_dim = 128;
  int indexer_topk = 512;
  int hc_count = 4;
  int hc_sinkhorn_iters = 20;
  float hc_eps = 1e-6f;
  float norm_eps = 1e-6f;
  float rope_base = 10000.0f;
  float compress_rope_base = 160000.0f;
  float yarn_factor = 16.0f;
  int yarn_orig_ctx = 65536;
  float yarn_beta_fast = 32.0f;
  float yarn_beta_slow = 1.0f;
  float route_scale = 1.5f;
  bool expert_weights_norm = true;
  int64_t context_length = 1048576;
  int nextn_layers = 0;
  std::vector<int>
      compress_ratios;              // per layer: 0 (window only), 4 (with indexer) or another ratio
  std::vector<float> swiglu_clamp;  // per layer, routed experts
  std::vector<float> swiglu_clamp_shared;  // per layer, shared expert

  // DeepSeek V4 Flash as released (43 layers).
  static ModelConfig flash();
  // Reads `deepseek4.*` keys; missing optional keys keep the Flash values. Throws naming the
  // key for a wrong type, a value out of range or values that contradict each other.
  static ModelConfig from_gguf(const gguf::GgufFile& file);
  void write_gguf(gguf::GgufWriter& writer) const;
  // Checks internal consistency; throws naming the offending field.
  void validate() const;

  int nope_dim() const { return head_dim - rope_dim; }
  int ratio(int layer) const { return compress_ratios[static_cast<size_t>(layer)]; }
  bool has_indexer(int layer) const { return ratio(layer) == 4; }
  // Ratio-4 compressors pool overlapping windows and so produce two lanes per token.
  int compress_lanes(int layer) const { return ratio(layer) == 4 ? 2 : 1; }
  bool is_hash_layer(int layer) const { return layer < n_hash_layers; }
  int heads_per_group() const { return n_heads / o_groups; }
  std::string describe() const;
};

}  // namespace dsv4::engine
