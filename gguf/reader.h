// GGUF reader: maps the file read-only, parses and validates everything before returning.
// A defective file yields one dsv4::Error naming the file and the defect; no partially
// valid object is ever handed out. Validation covers magic, version, counts against the
// file size, string/array lengths, nesting depth, dims and their product, type ids,
// block divisibility, tensor data bounds and alignment, and duplicate keys and names.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/huge_pages.h"
#include "base/mapped_file.h"
#include "gguf/metadata.h"
#include "gguf/tensor_types.h"

namespace dsv4::gguf {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS: other GGUF tools reject more

// Limits beyond what the file size implies. A parsed value takes far more memory than its
// encoding (a one-byte array element becomes a Value of ~140 bytes), so counts are capped
// well above any real model's (Flash: ~50 keys, ~1,300 tensors, a 129,280-token vocabulary)
// but far below what would exhaust memory.
constexpr uint64_t kMaxMetadataCount = 1 << 16;
constexpr uint64_t kMaxTensorCount = 1 << 20;
constexpr uint64_t kMaxArrayLength = 1 << 22;
constexpr uint64_t kMaxKeyBytes = 65535;  // the GGUF specification's limit
constexpr uint64_t kMaxStringBytes = 64 << 20;

struct TensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ne0 first (contiguous)
  TensorType type = TensorType::F32;
  uint64_t offset = 0;  // absolute byte offset in the file
  uint64_t size_bytes = 0;
  uint64_t elements = 0;

  int64_t dim(size_t k) const { return k < dims.size() ? dims[k] : 1; }
  std::string shape_string() const;  // "[4096, 1024]"
};

class GgufFile {
 public:
  // Throws dsv4::Error "<path>: <defect>".
  static GgufFile open(const std::string& path);
  // Parses an in-memory image (used by fuzzers and tests); `label` names it in errors.
  static GgufFile parse_bytes(std::vector<uint8_t> bytes, const std::string& label);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return size_; }

  const std::vector<KeyValue>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed accessors. Integer accessors accept any integer value type whose value fits;
  // float accessors accept floats and integers. Errors name the key, the expected and the
  // found type (or the out-of-range value).
  uint32_t get_u32(std::string_view key) const;
  uint64_t get_u64(std::string_view key) const;
  int64_t get_i64(std::string_view key) const;
  double get_f64(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;
  const Value& get_array(std::string_view key, ValueType element_type) const;
  std::optional<uint32_t> get_u32_opt(std::string_view key) const;
  std::optional<double> get_f64_opt(std::string_view key) const;
  std::optional<bool> get_bool_opt(std::string_view key) const;
  std::optional<std::string> get_string_opt(std::string_view key) const;
  // Integer arrays of any integer element type, as int64 (errors name key and index).
  std::vector<int64_t> get_int_array(std::string_view key) const;
  std::vector<double> get_float_array(std::string_view key) const;
  std::vector<std::string> get_string_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  const uint8_t* tensor_data(const TensorInfo& info) const {
    return data_ + (info.offset - data_offset_);
  }
  const uint8_t* base() const { return base_; }
  const MappedFile& mapping() const { return mapping_; }

  // Bytes of the tensor data section.
  uint64_t data_bytes() const { return size_ - std::min(data_offset_, size_); }
  // Copies the tensor data section into `memory` (at least data_bytes(); see
  // base/huge_pages.h), dropping the mapped pages; tensor_data() then points into the copy.
  // Throws dsv4::Error naming the file if it cannot be read.
  void copy_data_into(HugePageBuffer memory);
  bool data_in_huge_pages() const { return huge_data_.data() != nullptr; }

 private:
  GgufFile() = default;
  void parse();
  const Value& require(std::string_view key) const;
  [[noreturn]] void type_error(std::string_view key, std::string_view expected,
                               const Value& found) const;

  std::string path_;
  MappedFile mapping_;
  std::vector<uint8_t> owned_;  // backing bytes when parsed from memory
  const uint8_t* base_ = nullptr;
  const uint8_t* data_ = nullptr;  // the tensor data section: in base_, or huge_data_
  HugePageBuffer huge_data_;
  uint64_t size_ = 0;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> metadata_;
  std::unordered_map<std::string, size_t> key_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace dsv4::gguf
