// The indexer lane's compressed rows of a ratio-4 layer (MODEL.md §5.5). `ref` keeps them as f32
// rows, scored with f32 products. `fast` keeps them as the int8 FP4 codes of
// simd/indexer_int8.h — lossless, since the compressor FP4-simulates every row; one byte per
// value plus one per 32 (132 bytes for width 128, where f16 takes 256) — scored exactly by the
// integer kernels. Capacity is allocated up front so that decoding never allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/row_store.h"

namespace dsv4::engine {

class IndexKeys {
 public:
  // `fp4`: the int8 codes (fast) instead of f32 rows (ref).
  void init(int64_t capacity_rows, int width, bool fp4);

  bool fp4() const { return fp4_; }
  int64_t capacity() const { return capacity_; }
  int64_t size() const { return size_; }
  int width() const { return width_; }
  uint64_t allocated_bytes() const { return rows_.allocated_bytes() + tiles_.size(); }

  void clear() {
    rows_.clear();
    size_ = 0;
  }
  // Appends a row; throws if the store is full, or (fp4) if the row is not FP4-simulated.
  void push(const float* row);

  // f32 rows (ref).
  const RowStore& rows() const { return rows_; }
  // Tiles of simd::kKeyTileRows rows from row 0 (fp4).
  const uint8_t* tiles() const { return tiles_.data(); }

  // A row's bytes in a session file: the f32 values (ref), or the codes then the exponents of
  // simd::load_key_row (fp4).
  size_t row_bytes() const { return row_bytes(width_, fp4_); }
  static size_t row_bytes(int width, bool fp4);
  void save_row(int64_t i, uint8_t* out) const;
  // Stores row i (< capacity) from that form and grows size() to cover it; false, storing
  // nothing, if fp4 codes are not doubled E2M1 values.
  bool load_row(int64_t i, const uint8_t* in);

  // What init() allocates.
  static uint64_t planned_bytes(int64_t capacity_rows, int width, bool fp4);

 private:
  size_t tile_offset(int64_t row) const;

  RowStore rows_;
  std::vector<uint8_t> tiles_;
  int64_t capacity_ = 0;
  int64_t size_ = 0;
  int width_ = 0;
  bool fp4_ = false;
};

}  // namespace dsv4::engine
