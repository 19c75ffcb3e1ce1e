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
  // Bytes of weights read to decode one token: every tensor, except one row of the embedding
  // and of each hash table, and only the used share of the routed experts.
  uint64_t weight_bytes_per_token() const;
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
