// The ggml tensor type table (ids, block sizes, bytes per block) as GGUF files record it.
// Every ggml id up to MXFP4 (39) is known so that `inspect` can describe any GGUF; which
// types the engine can compute with is decided by simd/ and engine/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dsv4::gguf {

enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

struct TypeTraits {
  const char* name;      // as ggml prints it: "f32", "q8_0", "mxfp4", ...
  uint32_t block_elems;  // elements per block (1 for plain types)
  uint32_t block_bytes;  // bytes per block
};

// Traits of a ggml type id, or nullptr for ids that ggml does not define (4, 5, 31-33, 36-38, >39).
const TypeTraits* find_type_traits(uint32_t id);
const TypeTraits& type_traits(TensorType type);
std::string_view type_name(TensorType type);
// Parses a name as printed by type_name ("q8_0", "bf16", ...), case-insensitive.
std::optional<TensorType> type_from_name(std::string_view name);

// Bytes of `elements` consecutive elements; nullopt unless `elements` is a whole number of blocks.
std::optional<uint64_t> bytes_for_elements(TensorType type, uint64_t elements);

}  // namespace dsv4::gguf
