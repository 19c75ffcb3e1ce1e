// Reader for safetensors files and sharded checkpoints (model.safetensors.index.json), as
// DeepSeek's release checkpoints are stored. Files are mapped read-only; every header entry
// is validated (dtype, shape, offsets inside the data section, size = elements × dtype
// size, no overlaps) before any tensor is handed out.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"

namespace dsv4::gguf {

enum class SafeDType { F64, F32, F16, BF16, F8_E4M3, F8_E8M0, I64, I32, I16, I8, U8, BOOL };

std::string_view safe_dtype_name(SafeDType dtype);
size_t safe_dtype_size(SafeDType dtype);

struct SafeTensor {
  std::string name;
  SafeDType dtype = SafeDType::F32;
  std::vector<int64_t> shape;  // row-major, outermost first (the reverse of GGUF dims)
  const uint8_t* data = nullptr;
  uint64_t size_bytes = 0;
  uint64_t elements = 0;
  std::string file;  // shard file name, for messages

  std::string shape_string() const;
};

class SafeTensorsFile {
 public:
  // Throws dsv4::Error "<path>: <defect>".
  static std::unique_ptr<SafeTensorsFile> open(const std::string& path);
  static std::unique_ptr<SafeTensorsFile> parse_bytes(std::vector<uint8_t> bytes,
                                                      const std::string& label);

  const std::string& path() const { return path_; }
  const std::map<std::string, SafeTensor>& tensors() const { return tensors_; }
  const SafeTensor* find(std::string_view name) const;
  const std::map<std::string, std::string>& user_metadata() const { return metadata_; }

 private:
  SafeTensorsFile() = default;
  void parse();

  std::string path_;
  MappedFile mapping_;
  std::vector<uint8_t> owned_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  std::map<std::string, SafeTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// The weight_map of a model.safetensors.index.json: shard file name -> the tensors the index
// places there. Throws dsv4::Error naming `label` for malformed JSON, a missing weight_map, a
// non-string entry or a shard name that is not a plain file name (no path may leave the
// checkpoint directory).
std::map<std::string, std::vector<std::string>> parse_safetensors_index(std::string_view text,
                                                                        const std::string& label);

// A checkpoint directory: either an index with shards, or a single model.safetensors.
class SafeTensorsCheckpoint {
 public:
  // Throws dsv4::Error naming the directory, the shard or the tensor at fault: a missing
  // shard, a tensor the index places in a shard that lacks it, a tensor listed twice.
  static SafeTensorsCheckpoint open(const std::string& directory);

  const std::string& directory() const { return directory_; }
  const SafeTensor* find(std::string_view name) const;
  // Throws naming `name` when it is absent.
  const SafeTensor& get(std::string_view name) const;
  std::vector<std::string> names() const;
  size_t shard_count() const { return shards_.size(); }
  uint64_t total_bytes() const;

 private:
  std::string directory_;
  std::vector<std::unique_ptr<SafeTensorsFile>> shards_;
  std::map<std::string, const SafeTensor*, std::less<>> index_;
};

}  // namespace dsv4::gguf
