#include "engine/tensor_inventory.h"

#include "engine/model_weights.h"

namespace dsv4::engine {

int64_t TensorSpec::rows() const {
  int64_t r = 1;
  for (size_t k = 1; k < dims.size(); ++k) r *= dims[k];
  return r;
}

simd::TensorType storage_type(const TensorSpec& spec, simd::TensorType dense,
                              simd::TensorType experts, std::string* note) {
  using simd::TensorType;
  TensorType type = TensorType::F32;
  switch (spec.role) {
    case TensorRole::kEmbedding:
    case TensorRole::kSmallMatrix:
      type = dense == TensorType::F32 || dense == TensorType::F16 ? dense : TensorType::BF16;
      break;
    case TensorRole::kDense:
      type = dense;
      break;
    case TensorRole::kExperts:
      type = experts;
      break;
    case TensorRole::kHashTable:
      return TensorType::I32;
    case TensorRole::kF32Matrix:
    case TensorRole::kVector:
    case TensorRole::kPositionBias:
      return TensorType::F32;
  }
  if (spec.cols() % gguf::type_traits(type).block_elems == 0) return type;
  const TensorType fallback = spec.cols() % 32 == 0 ? TensorType::Q8_0 : TensorType::F16;
  if (note != nullptr)
    *note = spec.name + ": rows of " + std::to_string(spec.cols()) + " elements cannot be " +
            std::string(gguf::type_name(type)) + ", stored as " +
            std::string(gguf::type_name(fallback));
  return fallback;
}

std::vector<TensorSpec> tensor_inventory(const ModelConfig& c, bool with_router_bias) {
  std::vector<TensorSpec> out;
  auto add = [&out](std::string name, std::vector<int64_t> dims, TensorRole role,
                    std::string release, std::string kind, float std_dev, float mean = 0.0f) {
    out.push_back({std::move(name), std::move(dims), role, std::move(release), std::move(kind),
                   std_dev, mean});
  };
  const int64_t D = c.hidden, hc_width = static_cast<int64_t>(c.hc_count) * D;
  const int64_t mixes = 2 * c.hc_count + c.hc_count * c.hc_count;
  const int64_t q_width = static_cast<int64_t>(c.n_heads) * c.head_dim;
  const int64_t low = static_cast<int64_t>(c.o_groups) * c.o_lora_rank;

  add("token_embd.weight", {D, c.vocab}, TensorRole::kEmbedding, "embed.weight", "embedding", 1.0f);
  add("output_hc_fn.weight", {hc_width, c.hc_count}, TensorRole::kF32Matrix, "hc_head_fn",
      "hyper-connection", 0.03f);
  add("output_hc_base.weight", {c.hc_count}, TensorRole::kVector, "hc_head_base", "vector", 0.5f);
  add("output_hc_scale.weight", {1}, TensorRole::kVector, "hc_head_scale", "vector", 0.3f, 1.0f);
  add("output_norm.weight", {D}, TensorRole::kVector, "norm.weight", "vector", 0.1f, 1.0f);
  add("output.weight", {D, c.vocab}, TensorRole::kDense, "head.weight", "output head", 0.05f);

  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    auto g = [l](const std::string& suffix) { return layer_tensor(l, suffix.c_str()); };
    for (const char* side : {"attn", "ffn"}) {
      const std::string hc = std::string("hc_") + side;
      add(g(hc + "_fn.weight"), {hc_width, mixes}, TensorRole::kF32Matrix, p + hc + "_fn",
          "hyper-connection", 0.03f);
      add(g(hc + "_base.weight"), {mixes}, TensorRole::kVector, p + hc + "_base", "vector", 0.5f);
      add(g(hc + "_scale.weight"), {3}, TensorRole::kVector, p + hc + "_scale", "vector", 0.3f,
          1.0f);
    }
    add(g("attn_norm.weight"), {D}, TensorRole::kVector, p + "attn_norm.weight", "vector", 0.1f,
        1.0f);
    add(g("attn_sinks.weight"), {c.n_heads}, TensorRole::kVector, p + "attn.attn_sink", "vector",
        1.0f);
    add(g("attn_q_a.weight"), {D, c.q_lora_rank}, TensorRole::kDense, p + "attn.wq_a.weight",
        "attention", 0.02f);
    add(g("attn_q_a_norm.weight"), {c.q_lora_rank}, TensorRole::kVector, p + "attn.q_norm.weight",
        "vector", 0.1f, 1.0f);
    add(g("attn_q_b.weight"), {c.q_lora_rank, q_width}, TensorRole::kDense, p + "attn.wq_b.weight",
        "attention", 0.03f);
    add(g("attn_kv.weight"), {D, c.head_dim}, TensorRole::kDense, p + "attn.wkv.weight",
        "attention", 0.02f);
    add(g("attn_kv_a_norm.weight"), {c.head_dim}, TensorRole::kVector, p + "attn.kv_norm.weight",
        "vector", 0.1f, 1.0f);
    add(g("attn_output_a.weight"), {q_width / c.o_groups, low}, TensorRole::kDense,
        p + "attn.wo_a.weight", "attention", 0.01f);
    add(g("attn_output_b.weight"), {low, D}, TensorRole::kDense, p + "attn.wo_b.weight",
        "attention", 0.02f);
    const int ratio = c.ratio(l);
    if (ratio != 0) {
      const int64_t width = c.compress_lanes(l) * static_cast<int64_t>(c.head_dim);
      const std::string cp = p + "attn.compressor.";
      add(g("attn_compressor_kv.weight"), {D, width}, TensorRole::kSmallMatrix, cp + "wkv.weight",
          "compressor", 0.02f);
      add(g("attn_compressor_gate.weight"), {D, width}, TensorRole::kSmallMatrix,
          cp + "wgate.weight", "compressor", 0.02f);
      add(g("attn_compressor_ape.weight"), {width, ratio}, TensorRole::kPositionBias, cp + "ape",
          "vector", 0.5f);
      add(g("attn_compressor_norm.weight"), {c.head_dim}, TensorRole::kVector, cp + "norm.weight",
          "vector", 0.1f, 1.0f);
    }
    if (c.has_indexer(l)) {
      const int64_t width = 2 * static_cast<int64_t>(c.indexer_dim);
      const std::string ip = p + "attn.indexer.";
      add(g("indexer.attn_q_b.weight"),
          {c.q_lora_rank, static_cast<int64_t>(c.indexer_heads) * c.indexer_dim},
          TensorRole::kDense, ip + "wq_b.weight", "indexer", 0.03f);
      add(g("indexer.proj.weight"), {D, c.indexer_heads}, TensorRole::kSmallMatrix,
          ip + "weights_proj.weight", "indexer", 0.02f);
      add(g("indexer_compressor_kv.weight"), {D, width}, TensorRole::kSmallMatrix,
          ip + "compressor.wkv.weight", "compressor", 0.02f);
      add(g("indexer_compressor_gate.weight"), {D, width}, TensorRole::kSmallMatrix,
          ip + "compressor.wgate.weight", "compressor", 0.02f);
      add(g("indexer_compressor_ape.weight"), {width, ratio}, TensorRole::kPositionBias,
          ip + "compressor.ape", "vector", 0.5f);
      add(g("indexer_compressor_norm.weight"), {c.indexer_dim}, TensorRole::kVector,
          ip + "compressor.norm.weight", "vector", 0.1f, 1.0f);
    }
    add(g("ffn_norm.weight"), {D}, TensorRole::kVector, p + "ffn_norm.weight", "vector", 0.1f,
        1.0f);
    add(g("ffn_gate_inp.weight"), {D, c.n_experts}, TensorRole::kSmallMatrix, p + "ffn.gate.weight",
        "router", 0.02f);
    if (c.is_hash_layer(l)) {
      add(g("ffn_gate_tid2eid.weight"), {c.n_experts_used, c.vocab}, TensorRole::kHashTable,
          p + "ffn.gate.tid2eid", "hash routing", 0.0f);
    } else if (with_router_bias) {
      add(g("exp_probs_b.bias"), {c.n_experts}, TensorRole::kVector, p + "ffn.gate.bias", "vector",
          0.1f);
    }
    const std::string ep = p + "ffn.experts.{e}.";
    add(g("ffn_gate_exps.weight"), {D, c.expert_ffn, c.n_experts}, TensorRole::kExperts, ep + "w1",
        "routed experts", 0.05f);
    add(g("ffn_up_exps.weight"), {D, c.expert_ffn, c.n_experts}, TensorRole::kExperts, ep + "w3",
        "routed experts", 0.05f);
    add(g("ffn_down_exps.weight"), {c.expert_ffn, D, c.n_experts}, TensorRole::kExperts, ep + "w2",
        "routed experts", 0.02f);
    if (c.n_shared_experts > 0) {
      const std::string sp = p + "ffn.shared_experts.";
      add(g("ffn_gate_shexp.weight"), {D, c.expert_ffn}, TensorRole::kDense, sp + "w1.weight",
          "shared expert", 0.05f);
      add(g("ffn_up_shexp.weight"), {D, c.expert_ffn}, TensorRole::kDense, sp + "w3.weight",
          "shared expert", 0.05f);
      add(g("ffn_down_shexp.weight"), {c.expert_ffn, D}, TensorRole::kDense, sp + "w2.weight",
          "shared expert", 0.02f);
    }
  }
  return out;
}

}  // namespace dsv4::engine
