// Tensor shapes as text, for messages: "[4096, 1024]".
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace dsv4 {

std::string shape_string(std::span<const int64_t> dims);

}  // namespace dsv4
