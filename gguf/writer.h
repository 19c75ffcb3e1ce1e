// GGUF v3 writer that streams: metadata and tensor infos are declared first (their sizes
// fix every offset), then tensor data is written in declaration order, in as many pieces as
// the caller likes, so a converter never holds more than the tensor it is producing.
// The file appears atomically (temp file + rename) when finish() succeeds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "gguf/metadata.h"
#include "gguf/tensor_types.h"

namespace dsv4 {
class AtomicFileWriter;
}

namespace dsv4::gguf {

class GgufWriter {
 public:
  explicit GgufWriter(const std::string& path, uint32_t alignment = 32);
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  void add_metadata(std::string key, Value value);
  // Declares a tensor; returns its index. Names are limited to 63 bytes (ggml's limit).
  size_t add_tensor(std::string name, std::vector<int64_t> dims, TensorType type);

  // Writes header, metadata and tensor infos. Called implicitly by the first data write.
  void write_header();
  // Appends bytes of the current tensor (declaration order). A tensor is complete when
  // exactly its size has been written; the next write starts the following tensor.
  void write_tensor_data(const void* data, size_t size);
  // Checks that every tensor received exactly its bytes, then commits the file.
  void finish();

  size_t tensor_count() const { return tensors_.size(); }
  uint64_t tensor_size(size_t index) const { return tensors_[index].size_bytes; }

 private:
  struct Declared {
    std::string name;
    std::vector<int64_t> dims;
    TensorType type;
    uint64_t size_bytes;
    uint64_t offset;
  };

  std::string path_;
  uint32_t alignment_;
  std::vector<KeyValue> metadata_;
  std::unordered_set<std::string> keys_;
  std::vector<Declared> tensors_;
  std::unordered_set<std::string> names_;
  uint64_t next_offset_ = 0;
  std::unique_ptr<AtomicFileWriter> out_;
  bool header_written_ = false;
  size_t current_ = 0;  // tensor receiving data
  uint64_t current_written_ = 0;
};

}  // namespace dsv4::gguf
