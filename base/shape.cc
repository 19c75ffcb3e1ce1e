#include "base/shape.h"

namespace dsv4 {

std::string shape_string(std::span<const int64_t> dims) {
  std::string out = "[";
  for (size_t k = 0; k < dims.size(); ++k) {
    if (k > 0) out += ", ";
    out += std::to_string(dims[k]);
  }
  return out + "]";
}

}  // namespace dsv4
