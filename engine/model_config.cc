#include "engine/model_config.h"

#include <cmath>
#include <sstream>

#include "base/error.h"
#include "gguf/reader.h"
#include "gguf/writer.h"

namespace dsv4::engine {
namespace {

std::string key(const char* suffix) {
  return std::string(kArchitecture) + "." + suffix;
}

// llama.cpp's enum value for sqrt(softplus(x)) expert scoring.
constexpr uint32_t kGatingSqrtSoftplus = 4;

}  // namespace

ModelConfig ModelConfig::flash() {
  ModelConfig c;
  c.compress_ratios.resize(static_cast<size_t>(c.n_layers));
  for (int l = 0; l < c.n_layers; ++l)
    c.compress_ratios[static_cast<size_t>(l)] = l < 2 ? 0 : (l % 2 == 0 ? 4 : 128);
  c.swiglu_clamp.assign(static_cast<size_t>(c.n_layers), 10.0f);
  c.swiglu_clamp_shared = c.swiglu_clamp;
  return c;
}

ModelConfig ModelConfig::from_gguf(const gguf::GgufFile& f) {
  const std::string arch = f.get_string_opt("general.architecture").value_or("");
  if (arch != kArchitecture)
    fail(f.path(), ": general.architecture is '", arch, "', expected '", kArchitecture,
         "' (DeepSeek V4)");
  ModelConfig c = flash();
  auto positive = [&](const char* suffix, int* out, bool required) {
    const std::string k = key(suffix);
    if (!f.has(k)) {
      if (required) fail(f.path(), ": missing metadata key '", k, "'");
      return;
    }
    const uint32_t v = f.get_u32(k);
    if (v == 0 || v > (1u << 30))
      fail(f.path(), ": metadata key '", k, "' has out-of-range value ", v);
    *out = static_cast<int>(v);
  };
  auto number = [&](const char* suffix, float* out) {
    if (auto v = f.get_f64_opt(key(suffix))) {
      if (!std::isfinite(*v)) fail(f.path(), ": metadata key '", key(suffix), "' is not finite");
      *out = static_cast<float>(*v);
    }
  };
  positive("block_count", &c.n_layers, true);
  positive("embedding_length", &c.hidden, true);
  positive("attention.head_count", &c.n_heads, true);
  positive("attention.key_length", &c.head_dim, true);
  positive("expert_count", &c.n_experts, true);
  positive("expert_used_count", &c.n_experts_used, true);
  positive("expert_feed_forward_length", &c.expert_ffn, true);
  positive("vocab_size", &c.vocab, false);
  positive("rope.dimension_count", &c.rope_dim, false);
  positive("attention.q_lora_rank", &c.q_lora_rank, false);
  positive("attention.output_lora_rank", &c.o_lora_rank, false);
  positive("attention.output_group_count", &c.o_groups, false);
  positive("expert_shared_count", &c.n_shared_experts, false);
  positive("attention.sliding_window", &c.window, false);
  positive("attention.indexer.head_count", &c.indexer_heads, false);
  positive("attention.indexer.key_length", &c.indexer_dim, false);
  positive("attention.indexer.top_k", &c.indexer_topk, false);
  positive("hyper_connection.count", &c.hc_count, false);
  positive("hyper_connection.sinkhorn_iterations", &c.hc_sinkhorn_iters, false);
  if (auto v = f.get_u32_opt(key("hash_layer_count"))) c.n_hash_layers = static_cast<int>(*v);
  if (auto v = f.get_u32_opt(key("nextn_predict_layers"))) c.nextn_layers = static_cast<int>(*v);
  if (f.has(key("context_length")))
    c.context_length = static_cast<int64_t>(f.get_u64(key("context_length")));
  if (f.has(key("rope.scaling.original_context_length")))
    c.yarn_orig_ctx = static_cast<int>(f.get_u64(key("rope.scaling.original_context_length")));
  number("hyper_connection.epsilon", &c.hc_eps);
  number("attention.layer_norm_rms_epsilon", &c.norm_eps);
  number("rope.freq_base", &c.rope_base);
  number("attention.compress_rope_freq_base", &c.compress_rope_base);
  number("rope.scaling.factor", &c.yarn_factor);
  number("rope.scaling.yarn_beta_fast", &c.yarn_beta_fast);
  number("rope.scaling.yarn_beta_slow", &c.yarn_beta_slow);
  number("expert_weights_scale", &c.route_scale);
  if (auto v = f.get_bool_opt(key("expert_weights_norm"))) c.expert_weights_norm = *v;
  if (auto v = f.get_u32_opt(key("expert_gating_func")); v && *v != kGatingSqrtSoftplus)
    fail(f.path(), ": metadata key '", key("expert_gating_func"), "' is ", *v,
         "; DeepSeek V4 uses sqrt-softplus (", kGatingSqrtSoftplus, ")");
  if (auto groups = f.get_u32_opt(key("expert_group_count")); groups && *groups > 1)
    fail(f.path(), ": metadata key '", key("expert_group_count"), "' is ", *groups,
         "; grouped expert routing is not part of DeepSeek V4");

  const std::vector<int64_t> ratios = f.get_int_array(key("attention.compress_ratios"));
  if (ratios.size() < static_cast<size_t>(c.n_layers))
    fail(f.path(), ": metadata key '", key("attention.compress_ratios"), "' has ", ratios.size(),
         " entries for ", c.n_layers, " layers");
  c.compress_ratios.assign(static_cast<size_t>(c.n_layers), 0);
  for (int l = 0; l < c.n_layers; ++l) {
    const int64_t r = ratios[static_cast<size_t>(l)];
    if (r < 0 || r == 1 || r > 65536)
      fail(f.path(), ": metadata key '", key("attention.compress_ratios"), "' entry ", l, " is ",
           r);
    c.compress_ratios[static_cast<size_t>(l)] = static_cast<int>(r);
  }
  auto clamps = [&](const char* suffix, std::vector<float>* out) -> bool {
    if (!f.has(key(suffix))) return false;
    const std::vector<double> v = f.get_float_array(key(suffix));
    if (v.size() < static_cast<size_t>(c.n_layers))
      fail(f.path(), ": metadata key '", key(suffix), "' has ", v.size(), " entries for ",
           c.n_layers, " layers");
    out->assign(v.begin(), v.begin() + c.n_layers);
    return true;
  };
  c.swiglu_clamp.assign(static_cast<size_t>(c.n_layers), 10.0f);
  clamps("swiglu_clamp_exp", &c.swiglu_clamp);
  // As llama.cpp: without a shared-expert key the routed clamp applies to the shared expert too.
  if (!clamps("swiglu_clamp_shexp", &c.swiglu_clamp_shared)) c.swiglu_clamp_shared = c.swiglu_clamp;
  try {
    c.validate();
  } catch (const Error& e) {
    fail(f.path(), ": ", e.what());
  }
  return c;
}

void ModelConfig::validate() const {
  auto require = [](bool ok, const char* field, auto... detail) {
    if (!ok) fail("inconsistent model config: ", field, detail...);
  };
  require(n_layers > 0, "block_count must be positive");
  require(rope_dim % 2 == 0 && rope_dim > 0 && rope_dim <= head_dim && rope_dim <= 512,
          "rope.dimension_count ", rope_dim, " must be even and at most key_length ", head_dim);
  require(n_heads % o_groups == 0, "attention.head_count ", n_heads,
          " is not a multiple of output_group_count ", o_groups);
  require(n_experts_used <= n_experts, "expert_used_count ", n_experts_used,
          " exceeds expert_count ", n_experts);
  require(n_shared_experts <= 1, "expert_shared_count ", n_shared_experts,
          " (at most one shared expert)");
  require(n_hash_layers >= 0 && n_hash_layers <= n_layers, "hash_layer_count ", n_hash_layers);
  require(
      indexer_dim >= rope_dim && (indexer_dim & (indexer_dim - 1)) == 0 && indexer_dim % 32 == 0,
      "attention.indexer.key_length ", indexer_dim,
      " must be a power of two, a multiple of 32 and >= rope dims");
  require(nope_dim() % 64 == 0, "key_length - rope dims = ", nope_dim(),
          " must be a multiple of the FP8 simulation block (64)");
  require(static_cast<int>(compress_ratios.size()) == n_layers, "compress_ratios length");
  require(static_cast<int>(swiglu_clamp.size()) == n_layers &&
              static_cast<int>(swiglu_clamp_shared.size()) == n_layers,
          "swiglu clamp length");
  require(hc_count >= 1 && hc_count <= 16 && hc_sinkhorn_iters >= 1,
          "hyper_connection count (1..16) and iterations (>= 1)");
  require(norm_eps > 0 && hc_eps >= 0, "epsilons must be positive");
  require(window >= 1, "sliding_window must be positive");
  require(expert_weights_norm,
          "expert_weights_norm must be true (routing weights are renormalised)");
}

void ModelConfig::write_gguf(gguf::GgufWriter& w) const {
  using gguf::Value;
  auto u32 = [&](const char* suffix, int v) {
    w.add_metadata(key(suffix), Value::of_u32(static_cast<uint32_t>(v)));
  };
  auto f32 = [&](const char* suffix, float v) { w.add_metadata(key(suffix), Value::of_f32(v)); };
  w.add_metadata("general.architecture", Value::of_string(kArchitecture));
  u32("block_count", n_layers);
  w.add_metadata(key("context_length"), Value::of_u32(static_cast<uint32_t>(context_length)));
  u32("embedding_length", hidden);
  u32("vocab_size", vocab);
  u32("attention.head_count", n_heads);
  u32("attention.head_count_kv", 1);
  u32("attention.key_length", head_dim);
  u32("attention.value_length", head_dim);
  u32("rope.dimension_count", rope_dim);
  u32("attention.q_lora_rank", q_lora_rank);
  u32("attention.output_lora_rank", o_lora_rank);
  u32("attention.output_group_count", o_groups);
  u32("expert_count", n_experts);
  u32("expert_used_count", n_experts_used);
  u32("expert_feed_forward_length", expert_ffn);
  u32("expert_shared_count", n_shared_experts);
  u32("hash_layer_count", n_hash_layers);
  u32("expert_gating_func", kGatingSqrtSoftplus);
  u32("attention.sliding_window", window);
  u32("attention.indexer.head_count", indexer_heads);
  u32("attention.indexer.key_length", indexer_dim);
  u32("attention.indexer.top_k", indexer_topk);
  u32("hyper_connection.count", hc_count);
  u32("hyper_connection.sinkhorn_iterations", hc_sinkhorn_iters);
  u32("nextn_predict_layers", nextn_layers);
  std::vector<int32_t> ratios(compress_ratios.begin(), compress_ratios.end());
  w.add_metadata(key("attention.compress_ratios"), Value::of_i32_array(ratios));
  w.add_metadata(key("swiglu_clamp_exp"), Value::of_f32_array(swiglu_clamp));
  w.add_metadata(key("swiglu_clamp_shexp"), Value::of_f32_array(swiglu_clamp_shared));
  w.add_metadata(key("rope.scaling.original_context_length"),
                 Value::of_u32(static_cast<uint32_t>(yarn_orig_ctx)));
  f32("rope.freq_base", rope_base);
  f32("rope.scaling.factor", yarn_factor);
  f32("rope.scaling.yarn_beta_fast", yarn_beta_fast);
  f32("rope.scaling.yarn_beta_slow", yarn_beta_slow);
  f32("attention.compress_rope_freq_base", compress_rope_base);
  f32("expert_weights_scale", route_scale);
  f32("attention.layer_norm_rms_epsilon", norm_eps);
  f32("hyper_connection.epsilon", hc_eps);
  w.add_metadata(key("expert_weights_norm"), Value::of_bool(expert_weights_norm));
}

std::string ModelConfig::describe() const {
  std::ostringstream out;
  int dense = 0, r4 = 0, other = 0;
  for (int r : compress_ratios) (r == 0 ? dense : (r == 4 ? r4 : other)) += 1;
  out << n_layers << " layers (" << dense << " window-only, " << r4 << " ratio-4 with indexer, "
      << other << " heavily compressed), hidden " << hidden << ", vocab " << vocab << ", "
      << n_heads << " heads x " << head_dim << " (" << rope_dim << " RoPE), q-LoRA " << q_lora_rank
      << ", " << o_groups << " output groups x " << o_lora_rank << ", experts " << n_experts << " ("
      << n_experts_used << " active, " << n_shared_experts << " shared) x " << expert_ffn << ", "
      << n_hash_layers << " hash-routed layers, window " << window << ", indexer " << indexer_heads
      << " x " << indexer_dim << " top-" << indexer_topk << ", hyper-connections " << hc_count
      << " (" << hc_sinkhorn_iters << " Sinkhorn iterations)";
  return out.str();
}

}  // namespace dsv4::engine
