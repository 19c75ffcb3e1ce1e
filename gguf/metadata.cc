#include "gguf/metadata.h"

#include <cstring>
#include <sstream>

namespace dsv4::gguf {

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::U8:
      return "u8";
    case ValueType::I8:
      return "i8";
    case ValueType::U16:
      return "u16";
    case ValueType::I16:
      return "i16";
    case ValueType::U32:
      return "u32";
    case ValueType::I32:
      return "i32";
    case ValueType::F32:
      return "f32";
    case ValueType::BOOL:
      return "bool";
    case ValueType::STRING:
      return "string";
    case ValueType::ARRAY:
      return "array";
    case ValueType::U64:
      return "u64";
    case ValueType::I64:
      return "i64";
    case ValueType::F64:
      return "f64";
  }
  return "unknown";
}

bool is_signed_integer(ValueType t) {
  return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}

bool is_integer(ValueType t) {
  return is_signed_integer(t) || t == ValueType::U8 || t == ValueType::U16 || t == ValueType::U32 ||
         t == ValueType::U64;
}

bool is_float(ValueType t) {
  return t == ValueType::F32 || t == ValueType::F64;
}

Value Value::scalar_u(ValueType t, uint64_t v) {
  Value out;
  out.type = t;
  out.u = v;
  return out;
}

Value Value::scalar_i(ValueType t, int64_t v) {
  Value out;
  out.type = t;
  out.i = v;
  return out;
}

Value Value::of_f32(float v) {
  Value out;
  out.type = ValueType::F32;
  out.f = v;
  return out;
}

Value Value::of_f64(double v) {
  Value out;
  out.type = ValueType::F64;
  out.f = v;
  return out;
}

Value Value::of_string(std::string v) {
  Value out;
  out.type = ValueType::STRING;
  out.s = std::move(v);
  return out;
}

Value Value::of_array(ValueType element_type, std::vector<Value> elements) {
  Value out;
  out.type = ValueType::ARRAY;
  out.array_type = element_type;
  out.array = std::move(elements);
  return out;
}

Value Value::of_string_array(const std::vector<std::string>& strings) {
  std::vector<Value> items;
  items.reserve(strings.size());
  for (const auto& s : strings) items.push_back(of_string(s));
  return of_array(ValueType::STRING, std::move(items));
}

Value Value::of_i32_array(const std::vector<int32_t>& values) {
  std::vector<Value> items;
  items.reserve(values.size());
  for (int32_t v : values) items.push_back(of_i32(v));
  return of_array(ValueType::I32, std::move(items));
}

Value Value::of_u32_array(const std::vector<uint32_t>& values) {
  std::vector<Value> items;
  items.reserve(values.size());
  for (uint32_t v : values) items.push_back(of_u32(v));
  return of_array(ValueType::U32, std::move(items));
}

Value Value::of_f32_array(const std::vector<float>& values) {
  std::vector<Value> items;
  items.reserve(values.size());
  for (float v : values) items.push_back(of_f32(v));
  return of_array(ValueType::F32, std::move(items));
}

bool Value::operator==(const Value& other) const {
  if (type != other.type) return false;
  switch (type) {
    case ValueType::STRING:
      return s == other.s;
    case ValueType::ARRAY:
      return array_type == other.array_type && array == other.array;
    case ValueType::F32:
    case ValueType::F64:
      return std::memcmp(&f, &other.f, sizeof f) == 0;
    default:
      return is_signed_integer(type) ? i == other.i : u == other.u;
  }
}

std::string Value::describe(size_t max_items) const {
  std::ostringstream out;
  switch (type) {
    case ValueType::STRING:
      if (s.size() > 80) {
        out << '"' << s.substr(0, 77) << "...\" (" << s.size() << " bytes)";
      } else {
        out << '"' << s << '"';
      }
      break;
    case ValueType::ARRAY: {
      out << value_type_name(array_type) << '[' << array.size() << "] [";
      for (size_t k = 0; k < array.size() && k < max_items; ++k)
        out << (k ? ", " : "") << array[k].describe(3);
      if (array.size() > max_items) out << ", ...";
      out << ']';
      break;
    }
    case ValueType::F32:
    case ValueType::F64:
      out << f;
      break;
    case ValueType::BOOL:
      out << (u ? "true" : "false");
      break;
    default:
      if (is_signed_integer(type)) {
        out << i;
      } else {
        out << u;
      }
  }
  return out.str();
}

}  // namespace dsv4::gguf
