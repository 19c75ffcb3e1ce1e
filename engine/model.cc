#include "engine/model.h"

namespace dsv4::engine {

std::unique_ptr<Model> Model::load(const std::string& path) {
  std::unique_ptr<Model> model(new Model(gguf::GgufFile::open(path)));
  const ModelConfig config = ModelConfig::from_gguf(model->file_);
  model->weights_ = ModelWeights::bind(model->file_, config);
  model->rope_window_ = RopeTable(config, false);
  model->rope_compressed_ = RopeTable(config, true);
  return model;
}

uint64_t Model::weight_bytes_per_token() const {
  const ModelConfig& c = config();
  uint64_t total = 0;
  for (const gguf::TensorInfo& t : file_.tensors()) {
    if (t.name == "token_embd.weight" || t.name.ends_with("ffn_gate_tid2eid.weight")) {
      total += t.size_bytes / static_cast<uint64_t>(c.vocab);
    } else if (t.name.ends_with("_exps.weight")) {
      total += t.size_bytes / static_cast<uint64_t>(c.n_experts) *
               static_cast<uint64_t>(c.n_experts_used);
    } else {
      total += t.size_bytes;
    }
  }
  return total;
}

}  // namespace dsv4::engine
