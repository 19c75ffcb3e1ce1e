#include "gguf/tensor_types.h"

#include <array>
#include <cctype>

#include "base/error.h"

namespace dsv4::gguf {
namespace {

constexpr uint32_t kTypeCount = 40;

// Indexed by ggml type id; entries with a null name are ids ggml retired or never used.
constexpr std::array<TypeTraits, kTypeCount> kTraits = {{
    {"f32", 1, 4},        {"f16", 1, 2},       {"q4_0", 32, 18},     {"q4_1", 32, 20},
    {nullptr, 0, 0},      {nullptr, 0, 0},     {"q5_0", 32, 22},     {"q5_1", 32, 24},
    {"q8_0", 32, 34},     {"q8_1", 32, 36},    {"q2_K", 256, 84},    {"q3_K", 256, 110},
    {"q4_K", 256, 144},   {"q5_K", 256, 176},  {"q6_K", 256, 210},   {"q8_K", 256, 292},
    {"iq2_xxs", 256, 66}, {"iq2_xs", 256, 74}, {"iq3_xxs", 256, 98}, {"iq1_s", 256, 50},
    {"iq4_nl", 32, 18},   {"iq3_s", 256, 110}, {"iq2_s", 256, 82},   {"iq4_xs", 256, 136},
    {"i8", 1, 1},         {"i16", 1, 2},       {"i32", 1, 4},        {"i64", 1, 8},
    {"f64", 1, 8},        {"iq1_m", 256, 56},  {"bf16", 1, 2},       {nullptr, 0, 0},
    {nullptr, 0, 0},      {nullptr, 0, 0},     {"tq1_0", 256, 54},   {"tq2_0", 256, 66},
    {nullptr, 0, 0},      {nullptr, 0, 0},     {nullptr, 0, 0},      {"mxfp4", 32, 17},
}};

bool equal_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

const TypeTraits* find_type_traits(uint32_t id) {
  if (id >= kTypeCount || kTraits[id].name == nullptr) return nullptr;
  return &kTraits[id];
}

const TypeTraits& type_traits(TensorType type) {
  const TypeTraits* traits = find_type_traits(static_cast<uint32_t>(type));
  if (traits == nullptr) fail("unknown ggml type id ", static_cast<uint32_t>(type));
  return *traits;
}

std::string_view type_name(TensorType type) {
  const TypeTraits* traits = find_type_traits(static_cast<uint32_t>(type));
  return traits ? traits->name : "unknown";
}

std::optional<TensorType> type_from_name(std::string_view name) {
  for (uint32_t id = 0; id < kTypeCount; ++id)
    if (kTraits[id].name != nullptr && equal_ignore_case(kTraits[id].name, name))
      return static_cast<TensorType>(id);
  return std::nullopt;
}

std::optional<uint64_t> bytes_for_elements(TensorType type, uint64_t elements) {
  const TypeTraits* traits = find_type_traits(static_cast<uint32_t>(type));
  if (traits == nullptr || elements % traits->block_elems != 0) return std::nullopt;
  const uint64_t blocks = elements / traits->block_elems;
  if (blocks > UINT64_MAX / traits->block_bytes) return std::nullopt;
  return blocks * traits->block_bytes;
}

}  // namespace dsv4::gguf
