// Test models converted from the shared test data with `dsv4 convert`, cached in the build
// tree (conversion is atomic, so concurrent test processes are safe).
#pragma once

#include <optional>
#include <string>

namespace dsv4::testing {

// Path of tiny-a converted with the given types, or nullopt when the test data is missing
// (after require_testdata has recorded the skip or failure).
std::optional<std::string> converted_tiny_a(const std::string& experts, const std::string& dense);

}  // namespace dsv4::testing
