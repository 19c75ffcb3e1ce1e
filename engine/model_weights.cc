#include "engine/model_weights.h"

#include <sstream>

#include "base/error.h"
#include "base/shape.h"
#include "gguf/reader.h"
#include "simd/formats.h"

namespace dsv4::engine {
namespace {

using gguf::TensorInfo;
using simd::TensorType;

enum class Kind { kMatrix, kVector, kIndex };

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kMatrix:
      return "a matrix type (f32, f16, bf16, q8_0, q2_K, q4_K, iq2_xxs, mxfp4)";
    case Kind::kVector:
      return "f32, f16 or bf16";
    case Kind::kIndex:
      return "i32";
  }
  return "?";
}

bool kind_allows(Kind kind, TensorType type) {
  switch (kind) {
    case Kind::kMatrix:
      return simd::is_matmul_type(type);
    case Kind::kVector:
      return type == TensorType::F32 || type == TensorType::F16 || type == TensorType::BF16;
    case Kind::kIndex:
      return type == TensorType::I32;
  }
  return false;
}

class Binder {
 public:
  explicit Binder(const gguf::GgufFile& file, uint64_t* bytes) : file_(file), bytes_(bytes) {}

  bool has(const std::string& name) const { return file_.find_tensor(name) != nullptr; }

  const TensorInfo& require(const std::string& name, const std::vector<int64_t>& dims,
                            Kind kind) const {
    const TensorInfo* t = file_.find_tensor(name);
    if (t == nullptr)
      fail(file_.path(), ": missing tensor '", name, "' (expected ", shape_string(dims), ")");
    if (t->dims != dims || !kind_allows(kind, t->type))
      fail(file_.path(), ": tensor '", name, "': expected shape ", shape_string(dims), " of ",
           kind_name(kind), ", found ", shape_string(t->dims), " ", gguf::type_name(t->type));
    *bytes_ += t->size_bytes;
    return *t;
  }

  MatrixView matrix(const std::string& name, int64_t cols, int64_t rows) const {
    const TensorInfo& t = require(name, {cols, rows}, Kind::kMatrix);
    return simd::make_matrix(t.type, file_.tensor_data(t), rows, cols);
  }

  std::vector<float> vector(const std::string& name, const std::vector<int64_t>& dims) const {
    const TensorInfo& t = require(name, dims, Kind::kVector);
    std::vector<float> out(t.elements);
    simd::decode_row_reference(t.type, file_.tensor_data(t), 0, static_cast<int64_t>(t.elements),
                               out.data());
    return out;
  }

  ExpertMatrices experts(const std::string& name, int64_t cols, int64_t rows, int64_t n) const {
    const TensorInfo& t = require(name, {cols, rows, n}, Kind::kMatrix);
    ExpertMatrices e;
    e.type = t.type;
    e.data = file_.tensor_data(t);
    e.n_experts = n;
    e.rows = rows;
    e.cols = cols;
    e.expert_stride = simd::row_bytes(t.type, cols) * static_cast<size_t>(rows);
    return e;
  }

  const int32_t* index_table(const std::string& name, int64_t cols, int64_t rows,
                             int64_t max_value) const {
    const TensorInfo& t = require(name, {cols, rows}, Kind::kIndex);
    const auto* table = reinterpret_cast<const int32_t*>(file_.tensor_data(t));
    for (uint64_t i = 0; i < t.elements; ++i)
      if (table[i] < 0 || table[i] >= max_value)
        fail(file_.path(), ": tensor '", name, "' element ", i, " = ", table[i],
             " is not an expert id below ", max_value);
    return table;
  }

 private:
  const gguf::GgufFile& file_;
  uint64_t* bytes_;
};

HyperConnectionWeights bind_hc(const Binder& b, const std::string& prefix, int64_t mixes,
                               int64_t width, int64_t n_scales) {
  HyperConnectionWeights hc;
  hc.fn = b.matrix(prefix + "_fn.weight", width, mixes);
  hc.scale = b.vector(prefix + "_scale.weight", {n_scales});
  hc.base = b.vector(prefix + "_base.weight", {mixes});
  return hc;
}

CompressorWeights bind_compressor(const Binder& b, int layer, const char* prefix, int64_t width,
                                  int64_t lanes, int64_t ratio, int64_t hidden) {
  CompressorWeights c;
  const std::string p = std::string(prefix);
  c.kv = b.matrix(layer_tensor(layer, (p + "_kv.weight").c_str()), hidden, lanes * width);
  c.gate = b.matrix(layer_tensor(layer, (p + "_gate.weight").c_str()), hidden, lanes * width);
  c.ape = b.vector(layer_tensor(layer, (p + "_ape.weight").c_str()), {lanes * width, ratio});
  c.norm = b.vector(layer_tensor(layer, (p + "_norm.weight").c_str()), {width});
  return c;
}

}  // namespace

MatrixView ExpertMatrices::expert(int e) const {
  MatrixView m;
  m.type = type;
  m.data = data + static_cast<size_t>(e) * expert_stride;
  m.rows = rows;
  m.cols = cols;
  m.row_stride = simd::row_bytes(type, cols);
  return m;
}

std::string layer_tensor(int layer, const char* suffix) {
  return "blk." + std::to_string(layer) + "." + suffix;
}

ModelWeights ModelWeights::bind(const gguf::GgufFile& file, const ModelConfig& config) {
  ModelWeights w;
  w.config = config;
  const ModelConfig& c = config;
  Binder b(file, &w.bytes);
  const int64_t hidden = c.hidden, hc_width = static_cast<int64_t>(c.hc_count) * c.hidden;
  const int64_t hc_mixes = 2 * c.hc_count + c.hc_count * c.hc_count;

  const TensorInfo* embd = file.find_tensor("token_embd.weight");
  if (embd == nullptr) fail(file.path(), ": missing tensor 'token_embd.weight'");
  w.vocab_rows = embd->dim(1);
  if (w.vocab_rows != c.vocab)
    fail(file.path(), ": tensor 'token_embd.weight' has ", w.vocab_rows,
         " rows but the vocabulary size is ", c.vocab);
  w.token_embd = b.matrix("token_embd.weight", hidden, c.vocab);
  w.output = b.matrix("output.weight", hidden, c.vocab);
  w.output_norm = b.vector("output_norm.weight", {hidden});
  w.output_hc = bind_hc(b, "output_hc", c.hc_count, hc_width, 1);

  const int64_t q_width = static_cast<int64_t>(c.n_heads) * c.head_dim;
  const int64_t group_width = q_width / c.o_groups;
  w.layers.resize(static_cast<size_t>(c.n_layers));
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights& L = w.layers[static_cast<size_t>(l)];
    auto name = [l](const char* suffix) { return layer_tensor(l, suffix); };
    L.hc_attn = bind_hc(b, name("hc_attn"), hc_mixes, hc_width, 3);
    L.hc_ffn = bind_hc(b, name("hc_ffn"), hc_mixes, hc_width, 3);
    L.attn_norm = b.vector(name("attn_norm.weight"), {hidden});
    L.ffn_norm = b.vector(name("ffn_norm.weight"), {hidden});
    L.q_a = b.matrix(name("attn_q_a.weight"), hidden, c.q_lora_rank);
    L.q_a_norm = b.vector(name("attn_q_a_norm.weight"), {c.q_lora_rank});
    L.q_b = b.matrix(name("attn_q_b.weight"), c.q_lora_rank, q_width);
    L.kv = b.matrix(name("attn_kv.weight"), hidden, c.head_dim);
    L.kv_norm = b.vector(name("attn_kv_a_norm.weight"), {c.head_dim});
    L.sinks = b.vector(name("attn_sinks.weight"), {c.n_heads});
    L.out_a = b.matrix(name("attn_output_a.weight"), group_width,
                       static_cast<int64_t>(c.o_groups) * c.o_lora_rank);
    L.out_b = b.matrix(name("attn_output_b.weight"),
                       static_cast<int64_t>(c.o_groups) * c.o_lora_rank, hidden);

    const int ratio = c.ratio(l);
    L.has_compressor = ratio != 0;
    L.has_indexer = c.has_indexer(l);
    if (L.has_compressor)
      L.compressor =
          bind_compressor(b, l, "attn_compressor", c.head_dim, c.compress_lanes(l), ratio, hidden);
    if (L.has_indexer) {
      L.indexer_compressor =
          bind_compressor(b, l, "indexer_compressor", c.indexer_dim, 2, ratio, hidden);
      L.indexer_q_b = b.matrix(name("indexer.attn_q_b.weight"), c.q_lora_rank,
                               static_cast<int64_t>(c.indexer_heads) * c.indexer_dim);
      L.indexer_proj = b.matrix(name("indexer.proj.weight"), hidden, c.indexer_heads);
    }

    L.router = b.matrix(name("ffn_gate_inp.weight"), hidden, c.n_experts);
    if (b.has(name("exp_probs_b.bias")))
      L.router_bias = b.vector(name("exp_probs_b.bias"), {c.n_experts});
    if (c.is_hash_layer(l))
      L.token_to_experts =
          b.index_table(name("ffn_gate_tid2eid.weight"), c.n_experts_used, c.vocab, c.n_experts);
    L.gate_exps = b.experts(name("ffn_gate_exps.weight"), hidden, c.expert_ffn, c.n_experts);
    L.up_exps = b.experts(name("ffn_up_exps.weight"), hidden, c.expert_ffn, c.n_experts);
    L.down_exps = b.experts(name("ffn_down_exps.weight"), c.expert_ffn, hidden, c.n_experts);
    L.has_shared_expert = c.n_shared_experts > 0;
    if (L.has_shared_expert) {
      L.shared_gate = b.matrix(name("ffn_gate_shexp.weight"), hidden, c.expert_ffn);
      L.shared_up = b.matrix(name("ffn_up_shexp.weight"), hidden, c.expert_ffn);
      L.shared_down = b.matrix(name("ffn_down_shexp.weight"), c.expert_ffn, hidden);
    }
  }
  return w;
}

}  // namespace dsv4::engine
