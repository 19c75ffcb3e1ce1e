// A loaded model: the mapped GGUF, its config and bound weights, and the RoPE tables.
#pragma once

#include <memory>
#include <string>

#include "engine/model_config.h"
#include "engine/model_weights.h"
#include "engine/rope.h"
#include "gguf/reader.h"

namespace dsv4::engine {

class Model {
 public:
  // Throws naming the file, key or tensor at fault.
  static std::unique_ptr<Model> load(const std::string& path);

  const ModelConfig& config() const { return weights_.config; }
  const ModelWeights& weights() const { return weights_; }
  const gguf::GgufFile& file() const { return file_; }
  const RopeTable& rope(int layer) const {
    return config().ratio(layer) ? rope_compressed_ : rope_window_;
  }

 private:
  explicit Model(gguf::GgufFile file) : file_(std::move(file)) {}

  gguf::GgufFile file_;
  ModelWeights weights_;
  RopeTable rope_window_, rope_compressed_;
};

}  // namespace dsv4::engine
