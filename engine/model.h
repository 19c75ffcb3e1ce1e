// A loaded model: the mapped GGUF, its config and bound weights, and the RoPE tables.
#pragma once

#include <memory>
#include <string>

#include "engine/model_config.h"
#include "engine/model_weights.h"
#include "engine/rope.h"
#include "gguf/reader.h"

namespace dsv4::engine {

// Where the weights are read from while computing.
enum class WeightMemory {
  // Copied at load into anonymous memory backed by huge pages (base/huge_pages.h), when the
  // kernel has transparent huge pages on: prefill ~15% faster, at the cost of the copy
  // (seconds per 5 GB, mostly the kernel zeroing pages) and of not sharing the page cache.
  kHugePages,
  // Straight from the file mapping: starts at once and shares the page cache.
  kFileMapping,
};

class Model {
 public:
  // Throws naming the file, key or tensor at fault. kHugePages falls back to the mapping
  // (weight_memory_note() says why) when huge pages are off or the memory cannot be had.
  static std::unique_ptr<Model> load(const std::string& path,
                                     WeightMemory memory = WeightMemory::kHugePages);

  const ModelConfig& config() const { return weights_.config; }
  const ModelWeights& weights() const { return weights_; }
  const gguf::GgufFile& file() const { return file_; }
  // Where the weights are and what putting them there cost, e.g. "weights in huge pages
  // (copied in 1.9 s)".
  const std::string& weight_memory_note() const { return weight_memory_note_; }
  // Bytes of weights read to decode one token: every tensor, except one row of the embedding
  // and of each hash table, and only the used share of the routed experts.
  uint64_t weight_bytes_per_token() const;
  const RopeTable& rope(int layer) const {
    return config().ratio(layer) ? rope_compressed_ : rope_window_;
  }

 private:
  explicit Model(gguf::GgufFile file) : file_(std::move(file)) {}

  void place_weights(WeightMemory memory);

  gguf::GgufFile file_;
  std::string weight_memory_note_;
  ModelWeights weights_;
  RopeTable rope_window_, rope_compressed_;
};

}  // namespace dsv4::engine
