// Fixed-width rows of cached keys/values, stored as f32 (`--precision ref`) or f16
// (`fast`; values are rounded once when stored). Capacity is allocated up front so that
// decoding never allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "simd/matmul.h"

namespace dsv4::engine {

class RowStore {
 public:
  void init(int64_t capacity_rows, int width, simd::TensorType storage);

  int64_t capacity() const { return capacity_; }
  int64_t size() const { return size_; }
  int width() const { return width_; }
  simd::TensorType storage() const { return storage_; }
  size_t row_bytes() const { return row_bytes_; }
  uint64_t allocated_bytes() const { return data_.size(); }

  void clear() { size_ = 0; }
  // Appends a row; throws if the store is full.
  void push(const float* row);
  // Overwrites row `i` (< capacity), growing size() to cover it.
  void store(int64_t i, const float* row);
  // Row `i` as f32.
  void read(int64_t i, float* out) const;
  // Rows [first, first + count) as a matrix for the SIMD kernels.
  simd::MatrixView view(int64_t first, int64_t count) const;
  const uint8_t* raw_row(int64_t i) const {
    return data_.data() + static_cast<size_t>(i) * row_bytes_;
  }
  uint8_t* raw_row(int64_t i) { return data_.data() + static_cast<size_t>(i) * row_bytes_; }
  void set_size(int64_t n) { size_ = n; }

 private:
  std::vector<uint8_t> data_;
  int64_t capacity_ = 0;
  int64_t size_ = 0;
  int width_ = 0;
  size_t row_bytes_ = 0;
  simd::TensorType storage_ = simd::TensorType::F32;
};

}  // namespace dsv4::engine
