// NumPy .npy arrays (format versions 1-3, little-endian, C order): token ids in, logits out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dsv4 {

struct NpyArray {
  std::string dtype;           // "<f4", "<i4" or "<i8"
  std::vector<int64_t> shape;  // empty for a scalar
  std::vector<uint8_t> data;   // raw little-endian elements

  int64_t element_count() const;
};

// Throws dsv4::Error naming the file and the defect (bad magic, unsupported dtype,
// Fortran order, size that disagrees with the shape).
NpyArray read_npy(const std::string& path);

// Token ids from an integer array of any shape, flattened; values must fit in int32.
std::vector<int32_t> read_npy_tokens(const std::string& path);

// Float32 matrix [rows, cols]; written to `path` atomically (temp file + rename).
void write_npy_f32(const std::string& path, const float* data, int64_t rows, int64_t cols);

}  // namespace dsv4
