#include "engine/index_keys.h"

#include <cstring>

#include "base/error.h"
#include "simd/indexer_int8.h"

namespace dsv4::engine {
namespace {

int64_t tile_count(int64_t rows) {
  return (rows + simd::kKeyTileRows - 1) / simd::kKeyTileRows;
}

int slot_of(int64_t row) {
  return static_cast<int>(row % simd::kKeyTileRows);
}

}  // namespace

void IndexKeys::init(int64_t capacity_rows, int width, bool fp4) {
  capacity_ = capacity_rows;
  width_ = width;
  fp4_ = fp4;
  size_ = 0;
  if (fp4) {
    rows_ = RowStore();
    tiles_.assign(static_cast<size_t>(tile_count(capacity_rows)) * simd::key_tile_bytes(width), 0);
  } else {
    rows_.init(capacity_rows, width, simd::TensorType::F32);
    tiles_.clear();
  }
}

void IndexKeys::push(const float* row) {
  if (size_ >= capacity_)
    fail("indexer row store full (", capacity_, " rows of ", width_, "): context exceeded");
  if (!fp4_) {
    rows_.push(row);
  } else if (!simd::encode_key_row(row, width_, tiles_.data() + tile_offset(size_),
                                   slot_of(size_))) {
    fail("indexer row ", size_, " is not FP4-simulated, so it has no exact int8 encoding");
  }
  ++size_;
}

size_t IndexKeys::tile_offset(int64_t row) const {
  return static_cast<size_t>(row / simd::kKeyTileRows) * simd::key_tile_bytes(width_);
}

size_t IndexKeys::row_bytes(int width, bool fp4) {
  return fp4 ? static_cast<size_t>(width + width / simd::kFp4Block)
             : static_cast<size_t>(width) * sizeof(float);
}

void IndexKeys::save_row(int64_t i, uint8_t* out) const {
  if (!fp4_) {
    std::memcpy(out, rows_.raw_row(i), rows_.row_bytes());
    return;
  }
  simd::load_key_row(tiles_.data() + tile_offset(i), width_, slot_of(i),
                     reinterpret_cast<int8_t*>(out));
}

bool IndexKeys::load_row(int64_t i, const uint8_t* in) {
  if (!fp4_) {
    std::memcpy(rows_.raw_row(i), in, rows_.row_bytes());
    if (i >= rows_.size()) rows_.set_size(i + 1);
  } else if (!simd::store_key_row(reinterpret_cast<const int8_t*>(in), width_,
                                  tiles_.data() + tile_offset(i), slot_of(i))) {
    return false;
  }
  if (i >= size_) size_ = i + 1;
  return true;
}

uint64_t IndexKeys::planned_bytes(int64_t capacity_rows, int width, bool fp4) {
  return fp4 ? static_cast<uint64_t>(tile_count(capacity_rows)) * simd::key_tile_bytes(width)
             : static_cast<uint64_t>(capacity_rows) * width * sizeof(float);
}

}  // namespace dsv4::engine
