#include "gguf/writer.h"

#include <cstring>

#include "base/atomic_file.h"
#include "base/error.h"
#include "gguf/reader.h"

namespace dsv4::gguf {
namespace {

template <typename T>
void put(AtomicFileWriter& out, T value) {
  out.write(&value, sizeof value);
}

void put_string(AtomicFileWriter& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.write(s.data(), s.size());
}

void put_value(AtomicFileWriter& out, const Value& v, const std::string& key) {
  switch (v.type) {
    case ValueType::U8:
      put<uint8_t>(out, static_cast<uint8_t>(v.u));
      break;
    case ValueType::I8:
      put<int8_t>(out, static_cast<int8_t>(v.i));
      break;
    case ValueType::U16:
      put<uint16_t>(out, static_cast<uint16_t>(v.u));
      break;
    case ValueType::I16:
      put<int16_t>(out, static_cast<int16_t>(v.i));
      break;
    case ValueType::U32:
      put<uint32_t>(out, static_cast<uint32_t>(v.u));
      break;
    case ValueType::I32:
      put<int32_t>(out, static_cast<int32_t>(v.i));
      break;
    case ValueType::U64:
      put<uint64_t>(out, v.u);
      break;
    case ValueType::I64:
      put<int64_t>(out, v.i);
      break;
    case ValueType::F32:
      put<float>(out, static_cast<float>(v.f));
      break;
    case ValueType::F64:
      put<double>(out, v.f);
      break;
    case ValueType::BOOL:
      put<uint8_t>(out, v.u ? 1 : 0);
      break;
    case ValueType::STRING:
      put_string(out, v.s);
      break;
    case ValueType::ARRAY:
      put<uint32_t>(out, static_cast<uint32_t>(v.array_type));
      put<uint64_t>(out, v.array.size());
      for (const Value& item : v.array) {
        if (item.type != v.array_type)
          fail("GGUF metadata '", key, "': array element of type ", value_type_name(item.type),
               " in an array of ", value_type_name(v.array_type));
        put_value(out, item, key);
      }
      break;
  }
}

}  // namespace

GgufWriter::GgufWriter(const std::string& path, uint32_t alignment)
    : path_(path), alignment_(alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    fail(path, ": GGUF alignment must be a power of two");
  if (alignment != kDefaultAlignment) add_metadata("general.alignment", Value::of_u32(alignment));
}

GgufWriter::~GgufWriter() = default;

void GgufWriter::add_metadata(std::string key, Value value) {
  if (header_written_) fail(path_, ": metadata '", key, "' added after the header was written");
  if (!keys_.insert(key).second) fail(path_, ": duplicate metadata key '", key, "'");
  metadata_.push_back({std::move(key), std::move(value)});
}

size_t GgufWriter::add_tensor(std::string name, std::vector<int64_t> dims, TensorType type) {
  if (header_written_) fail(path_, ": tensor '", name, "' declared after the header was written");
  if (name.empty() || name.size() > 63)
    fail(path_, ": tensor name '", name, "' must be 1..63 bytes");
  if (dims.empty() || dims.size() > kMaxDims)
    fail(path_, ": tensor '", name, "' must have 1..4 dimensions");
  uint64_t elements = 1;
  for (int64_t d : dims) {
    if (d < 0 || __builtin_mul_overflow(elements, static_cast<uint64_t>(d), &elements))
      fail(path_, ": tensor '", name, "' has an invalid shape");
  }
  const auto size = bytes_for_elements(type, elements);
  if (!size || dims[0] % type_traits(type).block_elems != 0)
    fail(path_, ": tensor '", name, "' row of ", dims[0], " elements is not a whole number of ",
         type_name(type), " blocks");
  if (!names_.insert(name).second) fail(path_, ": duplicate tensor name '", name, "'");
  tensors_.push_back({std::move(name), std::move(dims), type, *size, next_offset_});
  next_offset_ += (*size + alignment_ - 1) / alignment_ * alignment_;
  return tensors_.size() - 1;
}

void GgufWriter::write_header() {
  if (header_written_) return;
  out_ = std::make_unique<AtomicFileWriter>(path_);
  put<uint32_t>(*out_, kMagic);
  put<uint32_t>(*out_, 3);
  put<uint64_t>(*out_, tensors_.size());
  put<uint64_t>(*out_, metadata_.size());
  for (const KeyValue& kv : metadata_) {
    put_string(*out_, kv.key);
    put<uint32_t>(*out_, static_cast<uint32_t>(kv.value.type));
    put_value(*out_, kv.value, kv.key);
  }
  for (const Declared& t : tensors_) {
    put_string(*out_, t.name);
    put<uint32_t>(*out_, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) put<uint64_t>(*out_, static_cast<uint64_t>(d));
    put<uint32_t>(*out_, static_cast<uint32_t>(t.type));
    put<uint64_t>(*out_, t.offset);
  }
  out_->pad_to(alignment_);
  header_written_ = true;
  current_ = 0;
  current_written_ = 0;
}

void GgufWriter::write_tensor_data(const void* data, size_t size) {
  write_header();
  const auto* bytes = static_cast<const uint8_t*>(data);
  while (size > 0) {
    while (current_ < tensors_.size() && current_written_ == tensors_[current_].size_bytes) {
      out_->pad_to(alignment_);
      ++current_;
      current_written_ = 0;
    }
    if (current_ >= tensors_.size()) fail(path_, ": more tensor data written than declared");
    const uint64_t room = tensors_[current_].size_bytes - current_written_;
    const size_t n = size < room ? size : static_cast<size_t>(room);
    out_->write(bytes, n);
    bytes += n;
    size -= n;
    current_written_ += n;
  }
}

void GgufWriter::finish() {
  write_header();
  while (current_ < tensors_.size() && current_written_ == tensors_[current_].size_bytes) {
    out_->pad_to(alignment_);
    ++current_;
    current_written_ = 0;
  }
  if (current_ != tensors_.size())
    fail(path_, ": tensor '", tensors_[current_].name, "' received ", current_written_, " of its ",
         tensors_[current_].size_bytes, " bytes");
  out_->commit();
  out_.reset();
}

}  // namespace dsv4::gguf
