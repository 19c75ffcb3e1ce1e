#include "gguf/reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <sstream>
#include <thread>

#include "base/error.h"
#include "base/shape.h"

namespace dsv4::gguf {
namespace {

constexpr uint32_t kMaxArrayNesting = 8;

// Bounds-checked little-endian cursor over the file image.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, const std::string& path)
      : data_(data), size_(size), path_(path) {}

  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  template <typename T>
  T read(const char* what) {
    if (remaining() < sizeof(T)) fail(path_, ": truncated at byte ", pos_, " while reading ", what);
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::string read_string(const char* what, uint64_t max_length = kMaxStringBytes) {
    const uint64_t length = read<uint64_t>(what);
    if (length > max_length)
      fail(path_, ": ", what, " at byte ", pos_ - 8, " claims ", length,
           " bytes, more than the limit of ", max_length);
    if (length > remaining())
      fail(path_, ": ", what, " at byte ", pos_ - 8, " claims ", length, " bytes but only ",
           remaining(), " remain in the file");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), length);
    pos_ += length;
    return s;
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& path_;
};

// Smallest encoded size of one value of `type` (arrays: type + count).
uint64_t min_value_bytes(ValueType type) {
  switch (type) {
    case ValueType::U8:
    case ValueType::I8:
    case ValueType::BOOL:
      return 1;
    case ValueType::U16:
    case ValueType::I16:
      return 2;
    case ValueType::U32:
    case ValueType::I32:
    case ValueType::F32:
      return 4;
    case ValueType::U64:
    case ValueType::I64:
    case ValueType::F64:
    case ValueType::STRING:
      return 8;
    case ValueType::ARRAY:
      return 12;
  }
  return 1;
}

bool valid_value_type(uint32_t t) {
  return t <= static_cast<uint32_t>(ValueType::F64);
}

Value read_value(Cursor& cur, ValueType type, uint32_t depth, const std::string& path,
                 const std::string& key) {
  Value v;
  v.type = type;
  switch (type) {
    case ValueType::U8:
      v.u = cur.read<uint8_t>("u8 value");
      break;
    case ValueType::I8:
      v.i = cur.read<int8_t>("i8 value");
      break;
    case ValueType::U16:
      v.u = cur.read<uint16_t>("u16 value");
      break;
    case ValueType::I16:
      v.i = cur.read<int16_t>("i16 value");
      break;
    case ValueType::U32:
      v.u = cur.read<uint32_t>("u32 value");
      break;
    case ValueType::I32:
      v.i = cur.read<int32_t>("i32 value");
      break;
    case ValueType::U64:
      v.u = cur.read<uint64_t>("u64 value");
      break;
    case ValueType::I64:
      v.i = cur.read<int64_t>("i64 value");
      break;
    case ValueType::F32:
      v.f = cur.read<float>("f32 value");
      break;
    case ValueType::F64:
      v.f = cur.read<double>("f64 value");
      break;
    case ValueType::BOOL: {
      const uint8_t b = cur.read<uint8_t>("bool value");
      if (b > 1)
        fail(path, ": metadata key '", key, "' has bool value ", int(b), " (must be 0 or 1)");
      v.u = b;
      break;
    }
    case ValueType::STRING:
      v.s = cur.read_string("string value");
      break;
    case ValueType::ARRAY: {
      if (depth >= kMaxArrayNesting)
        fail(path, ": metadata key '", key, "' nests arrays deeper than ", kMaxArrayNesting,
             " levels");
      const uint32_t element_type = cur.read<uint32_t>("array element type");
      if (!valid_value_type(element_type))
        fail(path, ": metadata key '", key, "' has an array of unknown value type ", element_type);
      v.array_type = static_cast<ValueType>(element_type);
      const uint64_t count = cur.read<uint64_t>("array length");
      if (count > kMaxArrayLength)
        fail(path, ": metadata key '", key, "' claims an array of ", count,
             " values, more than the limit of ", kMaxArrayLength);
      if (count > cur.remaining() / min_value_bytes(v.array_type))
        fail(path, ": metadata key '", key, "' claims an array of ", count, " ",
             value_type_name(v.array_type), " values but only ", cur.remaining(),
             " bytes remain in the file");
      v.array.reserve(count);
      for (uint64_t k = 0; k < count; ++k)
        v.array.push_back(read_value(cur, v.array_type, depth + 1, path, key));
      break;
    }
  }
  return v;
}

}  // namespace

std::string TensorInfo::shape_string() const {
  return dsv4::shape_string(dims);
}

GgufFile GgufFile::open(const std::string& path) {
  GgufFile file;
  file.path_ = path;
  file.mapping_ = MappedFile(path);
  file.base_ = file.mapping_.data();
  file.size_ = file.mapping_.size();
  file.parse();
  return file;
}

GgufFile GgufFile::parse_bytes(std::vector<uint8_t> bytes, const std::string& label) {
  GgufFile file;
  file.path_ = label;
  file.owned_ = std::move(bytes);
  file.base_ = file.owned_.data();
  file.size_ = file.owned_.size();
  file.parse();
  return file;
}

void GgufFile::parse() {
  Cursor cur(base_, size_, path_);
  if (size_ < 4) fail(path_, ": file of ", size_, " bytes is too short to be GGUF");
  const uint32_t magic = cur.read<uint32_t>("magic");
  if (magic != kMagic) fail(path_, ": not a GGUF file (bad magic 0x", std::hex, magic, ")");
  version_ = cur.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3)
    fail(path_, ": unsupported GGUF version ", version_, " (expected 3)");
  const uint64_t n_tensors = cur.read<uint64_t>("tensor count");
  const uint64_t n_kv = cur.read<uint64_t>("metadata count");
  // Each key-value pair needs at least a key length, a type and one value byte; each tensor
  // info at least a name length, n_dims, one dim, a type and an offset.
  if (n_kv > kMaxMetadataCount)
    fail(path_, ": metadata count ", n_kv, " exceeds the limit of ", kMaxMetadataCount);
  if (n_tensors > kMaxTensorCount)
    fail(path_, ": tensor count ", n_tensors, " exceeds the limit of ", kMaxTensorCount);
  if (n_kv > cur.remaining() / 13)
    fail(path_, ": metadata count ", n_kv, " exceeds what a file of ", size_, " bytes can hold");
  if (n_tensors > cur.remaining() / 32)
    fail(path_, ": tensor count ", n_tensors, " exceeds what a file of ", size_, " bytes can hold");

  metadata_.reserve(n_kv);
  for (uint64_t k = 0; k < n_kv; ++k) {
    KeyValue kv;
    kv.key = cur.read_string("metadata key", kMaxKeyBytes);
    if (kv.key.empty()) fail(path_, ": metadata entry ", k, " has an empty key");
    const uint32_t type = cur.read<uint32_t>("metadata value type");
    if (!valid_value_type(type))
      fail(path_, ": metadata key '", kv.key, "' has unknown value type ", type);
    kv.value = read_value(cur, static_cast<ValueType>(type), 0, path_, kv.key);
    if (!key_index_.emplace(kv.key, metadata_.size()).second)
      fail(path_, ": duplicate metadata key '", kv.key, "'");
    metadata_.push_back(std::move(kv));
  }

  if (const Value* a = find("general.alignment")) {
    if (a->type != ValueType::U32)
      fail(path_, ": general.alignment: expected u32, found ", value_type_name(a->type));
    if (a->u == 0 || (a->u & (a->u - 1)) != 0)
      fail(path_, ": general.alignment ", a->u, " is not a non-zero power of two");
    alignment_ = static_cast<uint32_t>(a->u);
  }

  tensors_.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    TensorInfo info;
    info.name = cur.read_string("tensor name");
    if (info.name.empty()) fail(path_, ": tensor ", k, " has an empty name");
    if (info.name.size() > 1024)
      fail(path_, ": tensor ", k, " has a name of ", info.name.size(), " bytes");
    const uint32_t n_dims = cur.read<uint32_t>("tensor dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      fail(path_, ": tensor '", info.name, "' has ", n_dims, " dimensions (1..", kMaxDims,
           " allowed)");
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = cur.read<uint64_t>("tensor dimension");
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(path_, ": tensor '", info.name, "' dimension ", d, " = ", dim, " is out of range");
      if (__builtin_mul_overflow(elements, dim, &elements) ||
          elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(path_, ": tensor '", info.name, "' element count overflows (dimension ", d, " = ", dim,
             ")");
      info.dims.push_back(static_cast<int64_t>(dim));
    }
    info.elements = elements;
    const uint32_t type = cur.read<uint32_t>("tensor type");
    const TypeTraits* traits = find_type_traits(type);
    if (traits == nullptr) fail(path_, ": tensor '", info.name, "' has unknown type id ", type);
    info.type = static_cast<TensorType>(type);
    if (info.dims[0] % traits->block_elems != 0)
      fail(path_, ": tensor '", info.name, "' row length ", info.dims[0],
           " is not a multiple of the ", traits->name, " block size ", traits->block_elems);
    info.size_bytes = *bytes_for_elements(info.type, elements);
    info.offset = cur.read<uint64_t>("tensor offset");
    if (info.offset % alignment_ != 0)
      fail(path_, ": tensor '", info.name, "' offset ", info.offset,
           " is not a multiple of the alignment ", alignment_);
    if (!tensor_index_.emplace(info.name, tensors_.size()).second)
      fail(path_, ": duplicate tensor name '", info.name, "'");
    tensors_.push_back(std::move(info));
  }

  data_offset_ = (cur.position() + alignment_ - 1) / alignment_ * alignment_;
  if (!tensors_.empty() && data_offset_ > size_)
    fail(path_, ": tensor data section would start at byte ", data_offset_,
         " past the end of the file (", size_, " bytes)");
  for (TensorInfo& info : tensors_) {
    uint64_t begin = 0, end = 0;
    if (__builtin_add_overflow(data_offset_, info.offset, &begin) ||
        __builtin_add_overflow(begin, info.size_bytes, &end) || end > size_)
      fail(path_, ": tensor '", info.name, "' data (", info.size_bytes, " bytes at offset ",
           info.offset, ") extends past the end of the file (", size_, " bytes)");
    info.offset = begin;
  }
  data_ = base_ + std::min(data_offset_, size_);
}

void GgufFile::copy_data_into(HugePageBuffer copy) {
  const uint64_t bytes = data_bytes();
  if (copy.size() < bytes)
    fail(path_, ": ", copy.size(), " bytes of memory cannot hold its ", bytes, " bytes of tensors");
  if (!owned_.empty()) {
    std::memcpy(copy.data(), data_, bytes);
  } else {
    // read(2) from the page cache: copying through the mapping would fault in every 4 KiB
    // page of it first. Most of the time goes to the kernel zeroing the fresh huge pages,
    // so every core takes a share.
    const uint64_t threads = std::clamp<uint64_t>(std::thread::hardware_concurrency(), 1, 16);
    const uint64_t share = (bytes / threads + (uint64_t{2} << 20) - 1) & ~((uint64_t{2} << 20) - 1);
    std::vector<std::thread> readers;
    std::vector<std::exception_ptr> errors(threads);
    for (uint64_t t = 0; t < threads && t * share < bytes; ++t)
      readers.emplace_back([&, t] {
        try {
          const uint64_t begin = t * share, n = std::min(share, bytes - begin);
          read_file_range(path_, data_offset_ + begin, n, copy.data() + begin);
        } catch (...) {
          errors[t] = std::current_exception();
        }
      });
    for (std::thread& r : readers) r.join();
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
    release_mapped_pages(data_, bytes);
  }
  huge_data_ = std::move(copy);
  data_ = huge_data_.data();
}

const Value* GgufFile::find(std::string_view key) const {
  auto it = key_index_.find(std::string(key));
  return it == key_index_.end() ? nullptr : &metadata_[it->second].value;
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const Value& GgufFile::require(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) fail(path_, ": missing metadata key '", key, "'");
  return *v;
}

void GgufFile::type_error(std::string_view key, std::string_view expected,
                          const Value& found) const {
  std::string found_name(value_type_name(found.type));
  if (found.type == ValueType::ARRAY)
    found_name = str_cat("array of ", value_type_name(found.array_type));
  fail(path_, ": metadata key '", key, "': expected ", expected, ", found ", found_name);
}

namespace {

// Integer value of a scalar as a signed 128-bit-safe pair: returns false if not an integer.
bool integer_value(const Value& v, int64_t* as_signed, uint64_t* as_unsigned, bool* negative) {
  if (!is_integer(v.type) && v.type != ValueType::BOOL) return false;
  if (is_signed_integer(v.type)) {
    *negative = v.i < 0;
    *as_signed = v.i;
    *as_unsigned = static_cast<uint64_t>(v.i);
  } else {
    *negative = false;
    *as_unsigned = v.u;
    *as_signed = static_cast<int64_t>(v.u);
  }
  return true;
}

}  // namespace

uint64_t GgufFile::get_u64(std::string_view key) const {
  const Value& v = require(key);
  int64_t s;
  uint64_t u;
  bool negative;
  if (v.type == ValueType::BOOL || !integer_value(v, &s, &u, &negative))
    type_error(key, "an unsigned integer", v);
  if (negative) fail(path_, ": metadata key '", key, "' has negative value ", s);
  return u;
}

uint32_t GgufFile::get_u32(std::string_view key) const {
  const uint64_t u = get_u64(key);
  if (u > std::numeric_limits<uint32_t>::max())
    fail(path_, ": metadata key '", key, "' value ", u, " exceeds u32");
  return static_cast<uint32_t>(u);
}

int64_t GgufFile::get_i64(std::string_view key) const {
  const Value& v = require(key);
  int64_t s;
  uint64_t u;
  bool negative;
  if (v.type == ValueType::BOOL || !integer_value(v, &s, &u, &negative))
    type_error(key, "an integer", v);
  if (!is_signed_integer(v.type) && u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    fail(path_, ": metadata key '", key, "' value ", u, " exceeds i64");
  return s;
}

double GgufFile::get_f64(std::string_view key) const {
  const Value& v = require(key);
  if (is_float(v.type)) return v.f;
  if (is_signed_integer(v.type)) return static_cast<double>(v.i);
  if (is_integer(v.type)) return static_cast<double>(v.u);
  type_error(key, "a number", v);
}

bool GgufFile::get_bool(std::string_view key) const {
  const Value& v = require(key);
  if (v.type != ValueType::BOOL) type_error(key, "bool", v);
  return v.u != 0;
}

const std::string& GgufFile::get_string(std::string_view key) const {
  const Value& v = require(key);
  if (v.type != ValueType::STRING) type_error(key, "string", v);
  return v.s;
}

const Value& GgufFile::get_array(std::string_view key, ValueType element_type) const {
  const Value& v = require(key);
  if (v.type != ValueType::ARRAY || v.array_type != element_type)
    type_error(key, str_cat("array of ", value_type_name(element_type)), v);
  return v;
}

std::optional<uint32_t> GgufFile::get_u32_opt(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_u32(key);
}

std::optional<double> GgufFile::get_f64_opt(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_f64(key);
}

std::optional<bool> GgufFile::get_bool_opt(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_bool(key);
}

std::optional<std::string> GgufFile::get_string_opt(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_string(key);
}

std::vector<int64_t> GgufFile::get_int_array(std::string_view key) const {
  const Value& v = require(key);
  if (v.type != ValueType::ARRAY || !is_integer(v.array_type))
    type_error(key, "array of integers", v);
  std::vector<int64_t> out;
  out.reserve(v.array.size());
  for (const Value& item : v.array) {
    if (!is_signed_integer(item.type) &&
        item.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(path_, ": metadata key '", key, "' element ", out.size(), " value ", item.u,
           " exceeds i64");
    out.push_back(is_signed_integer(item.type) ? item.i : static_cast<int64_t>(item.u));
  }
  return out;
}

std::vector<double> GgufFile::get_float_array(std::string_view key) const {
  const Value& v = require(key);
  if (v.type != ValueType::ARRAY || (!is_float(v.array_type) && !is_integer(v.array_type)))
    type_error(key, "array of numbers", v);
  std::vector<double> out;
  out.reserve(v.array.size());
  for (const Value& item : v.array)
    out.push_back(is_float(item.type)
                      ? item.f
                      : (is_signed_integer(item.type) ? static_cast<double>(item.i)
                                                      : static_cast<double>(item.u)));
  return out;
}

std::vector<std::string> GgufFile::get_string_array(std::string_view key) const {
  const Value& v = get_array(key, ValueType::STRING);
  std::vector<std::string> out;
  out.reserve(v.array.size());
  for (const Value& item : v.array) out.push_back(item.s);
  return out;
}

}  // namespace dsv4::gguf
