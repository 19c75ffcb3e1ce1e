#include "engine/hf_config.h"

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/json_limits.h"

namespace dsv4::engine {
namespace {

class Fields {
 public:
  Fields(const nlohmann::json& json, const std::string& label) : json_(json), label_(label) {}

  const nlohmann::json& get(const char* name) const {
    const auto it = json_.find(name);
    if (it == json_.end()) fail(label_, ": missing field '", name, "'");
    return *it;
  }
  bool has(const char* name) const { return json_.contains(name); }

  int positive_int(const char* name) const {
    const auto& v = get(name);
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (int64_t{1} << 30))
      fail(label_, ": field '", name, "' must be a positive integer, found ", v.dump());
    return static_cast<int>(v.get<int64_t>());
  }
  int nonnegative_int(const char* name, int fallback) const {
    if (!has(name)) return fallback;
    const auto& v = get(name);
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > (int64_t{1} << 30))
      fail(label_, ": field '", name, "' must be a non-negative integer, found ", v.dump());
    return static_cast<int>(v.get<int64_t>());
  }
  float number(const nlohmann::json& obj, const char* name, const char* where) const {
    const auto it = obj.find(name);
    if (it == obj.end() || !it->is_number())
      fail(label_, ": field '", where, name, "' must be a number");
    return it->get<float>();
  }
  float number(const char* name) const { return number(json_, name, ""); }

 private:
  const nlohmann::json& json_;
  const std::string& label_;
};

}  // namespace

ModelConfig config_from_hf_json(const nlohmann::json& json, const std::string& label) {
  if (!json.is_object()) fail(label, ": not a JSON object");
  const Fields f(json, label);
  ModelConfig c = ModelConfig::flash();
  c.n_layers = f.positive_int("num_hidden_layers");
  c.hidden = f.positive_int("hidden_size");
  c.vocab = f.positive_int("vocab_size");
  c.n_heads = f.positive_int("num_attention_heads");
  c.head_dim = f.positive_int("head_dim");
  c.rope_dim = f.positive_int("qk_rope_head_dim");
  c.q_lora_rank = f.positive_int("q_lora_rank");
  c.o_lora_rank = f.positive_int("o_lora_rank");
  c.o_groups = f.positive_int("o_groups");
  c.n_experts = f.positive_int("n_routed_experts");
  c.n_experts_used = f.positive_int("num_experts_per_tok");
  c.n_shared_experts = f.nonnegative_int("n_shared_experts", 1);
  c.expert_ffn = f.positive_int("moe_intermediate_size");
  c.n_hash_layers = f.nonnegative_int("num_hash_layers", 0);
  c.window = f.positive_int("sliding_window");
  c.indexer_heads = f.positive_int("index_n_heads");
  c.indexer_dim = f.positive_int("index_head_dim");
  c.indexer_topk = f.positive_int("index_topk");
  c.hc_count = f.positive_int("hc_mult");
  c.hc_sinkhorn_iters = f.positive_int("hc_sinkhorn_iters");
  c.hc_eps = f.number("hc_eps");
  c.norm_eps = f.number("rms_norm_eps");
  c.rope_base = f.number("rope_theta");
  c.compress_rope_base = f.number("compress_rope_theta");
  c.route_scale = f.number("routed_scaling_factor");
  c.nextn_layers = f.nonnegative_int("num_nextn_predict_layers", 0);
  if (f.has("max_position_embeddings"))
    c.context_length = f.positive_int("max_position_embeddings");
  if (f.has("norm_topk_prob")) {
    if (!f.get("norm_topk_prob").is_boolean())
      fail(label, ": field 'norm_topk_prob' must be true or false");
    c.expert_weights_norm = f.get("norm_topk_prob").get<bool>();
  }
  if (f.has("scoring_func") && f.get("scoring_func") != "sqrtsoftplus")
    fail(label, ": field 'scoring_func' is ", f.get("scoring_func").dump(),
         "; DeepSeek V4 uses \"sqrtsoftplus\"");

  const auto& rope = f.get("rope_scaling");
  if (!rope.is_object()) fail(label, ": field 'rope_scaling' must be an object");
  c.yarn_factor = f.number(rope, "factor", "rope_scaling.");
  c.yarn_beta_fast = f.number(rope, "beta_fast", "rope_scaling.");
  c.yarn_beta_slow = f.number(rope, "beta_slow", "rope_scaling.");
  c.yarn_orig_ctx =
      static_cast<int>(f.number(rope, "original_max_position_embeddings", "rope_scaling."));

  const auto& ratios = f.get("compress_ratios");
  if (!ratios.is_array() || ratios.size() < static_cast<size_t>(c.n_layers))
    fail(label, ": field 'compress_ratios' must list at least ", c.n_layers, " ratios");
  c.compress_ratios.resize(static_cast<size_t>(c.n_layers));
  for (int l = 0; l < c.n_layers; ++l) {
    const auto& r = ratios[static_cast<size_t>(l)];
    if (!r.is_number_integer() || r.get<int>() < 0 || r.get<int>() == 1)
      fail(label, ": compress_ratios[", l, "] = ", r.dump(), " is not a valid ratio");
    c.compress_ratios[static_cast<size_t>(l)] = r.get<int>();
  }
  const float limit = f.has("swiglu_limit") ? f.number("swiglu_limit") : 10.0f;
  c.swiglu_clamp.assign(static_cast<size_t>(c.n_layers), limit);
  c.swiglu_clamp_shared = c.swiglu_clamp;
  try {
    c.validate();
  } catch (const Error& e) {
    fail(label, ": ", e.what());
  }
  return c;
}

ModelConfig load_hf_config(const std::string& checkpoint_dir) {
  const std::string path = checkpoint_dir + "/config.json";
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  return config_from_hf_json(parse_json_limited(text.str(), path), path);
}

}  // namespace dsv4::engine
