#include "engine/row_store.h"

#include <cstring>

#include "base/error.h"
#include "simd/half.h"

namespace dsv4::engine {

void RowStore::init(int64_t capacity_rows, int width, simd::TensorType storage) {
  if (storage != simd::TensorType::F32 && storage != simd::TensorType::F16)
    fail("row storage must be f32 or f16, not ", gguf::type_name(storage));
  capacity_ = capacity_rows;
  width_ = width;
  storage_ = storage;
  row_bytes_ = static_cast<size_t>(width) * (storage == simd::TensorType::F32 ? 4 : 2);
  data_.assign(static_cast<size_t>(capacity_rows) * row_bytes_, 0);
  size_ = 0;
}

void RowStore::push(const float* row) {
  if (size_ >= capacity_)
    fail("KV row store full (", capacity_, " rows of ", width_, "): context exceeded");
  store(size_, row);
}

void RowStore::store(int64_t i, const float* row) {
  uint8_t* dst = raw_row(i);
  if (storage_ == simd::TensorType::F32) {
    std::memcpy(dst, row, row_bytes_);
  } else {
    auto* h = reinterpret_cast<uint16_t*>(dst);
    for (int k = 0; k < width_; ++k) h[k] = simd::f32_to_f16(row[k]);
  }
  if (i >= size_) size_ = i + 1;
}

void RowStore::read(int64_t i, float* out) const {
  // The vector f16 decode: attention reads every visible row once per query token.
  simd::decode_row(view(i, 1), 0, out);
}

simd::MatrixView RowStore::view(int64_t first, int64_t count) const {
  simd::MatrixView m;
  m.type = storage_;
  m.data = raw_row(first);
  m.rows = count;
  m.cols = width_;
  m.row_stride = row_bytes_;
  return m;
}

}  // namespace dsv4::engine
