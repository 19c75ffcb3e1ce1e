// GGUF metadata values: the 13 value types of the GGUF spec, arrays (possibly nested) included.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dsv4::gguf {

enum class ValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

std::string_view value_type_name(ValueType type);
bool is_integer(ValueType type);
bool is_signed_integer(ValueType type);
bool is_float(ValueType type);

// One metadata value. Scalars keep their exact bits in `u`/`i`/`f`; arrays keep their
// element type and the elements (each a Value of that type).
struct Value {
  ValueType type = ValueType::U32;
  uint64_t u = 0;  // unsigned integers and bool
  int64_t i = 0;   // signed integers
  double f = 0;    // f32 (exactly widened) and f64
  std::string s;   // STRING
  ValueType array_type = ValueType::U8;
  std::vector<Value> array;

  static Value of_u8(uint8_t v) { return scalar_u(ValueType::U8, v); }
  static Value of_u16(uint16_t v) { return scalar_u(ValueType::U16, v); }
  static Value of_u32(uint32_t v) { return scalar_u(ValueType::U32, v); }
  static Value of_u64(uint64_t v) { return scalar_u(ValueType::U64, v); }
  static Value of_i8(int8_t v) { return scalar_i(ValueType::I8, v); }
  static Value of_i16(int16_t v) { return scalar_i(ValueType::I16, v); }
  static Value of_i32(int32_t v) { return scalar_i(ValueType::I32, v); }
  static Value of_i64(int64_t v) { return scalar_i(ValueType::I64, v); }
  static Value of_f32(float v);
  static Value of_f64(double v);
  static Value of_bool(bool v) { return scalar_u(ValueType::BOOL, v ? 1 : 0); }
  static Value of_string(std::string v);
  static Value of_array(ValueType element_type, std::vector<Value> elements);
  static Value of_string_array(const std::vector<std::string>& strings);
  static Value of_i32_array(const std::vector<int32_t>& values);
  static Value of_u32_array(const std::vector<uint32_t>& values);
  static Value of_f32_array(const std::vector<float>& values);

  bool operator==(const Value& other) const;

  // A short human-readable rendering; long arrays are abbreviated.
  std::string describe(size_t max_items = 8) const;

 private:
  static Value scalar_u(ValueType t, uint64_t v);
  static Value scalar_i(ValueType t, int64_t v);
};

struct KeyValue {
  std::string key;
  Value value;
};

}  // namespace dsv4::gguf
