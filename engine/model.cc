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

}  // namespace dsv4::engine
