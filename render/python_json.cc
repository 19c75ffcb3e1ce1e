#include "render/python_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "render/utf8.h"

namespace dsv4::render {
namespace {

void dump(const nlohmann::ordered_json& v, std::string& out) {
  using Type = nlohmann::ordered_json::value_t;
  switch (v.type()) {
    case Type::null:
    case Type::discarded:
      out += "null";
      return;
    case Type::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    case Type::number_integer:
      out += std::to_string(v.get<int64_t>());
      return;
    case Type::number_unsigned:
      out += std::to_string(v.get<uint64_t>());
      return;
    case Type::number_float:
      out += python_float_repr(v.get<double>());
      return;
    case Type::string:
      out += python_json_string(v.get_ref<const std::string&>());
      return;
    case Type::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v) {
        if (!first) out += ", ";
        first = false;
        dump(item, out);
      }
      out += ']';
      return;
    }
    case Type::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out += ", ";
        first = false;
        out += python_json_string(key);
        out += ": ";
        dump(item, out);
      }
      out += '}';
      return;
    }
    case Type::binary:
      out += "null";
      return;
  }
}

}  // namespace

std::string python_json_dumps(const nlohmann::ordered_json& value) {
  std::string out;
  dump(value, out);
  return out;
}

void append_python_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[static_cast<unsigned char>(c) >> 4];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
}

std::string python_json_string(std::string_view text) {
  std::string out = "\"";
  if (is_valid_utf8(text)) {
    append_python_json_escaped(out, text);
  } else {
    append_python_json_escaped(out, sanitize_utf8(text));
  }
  out += '"';
  return out;
}

std::string python_float_repr(double value) {
  // json.dumps writes Python's float repr, and its allow_nan spellings for the rest.
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  const std::string_view sci(buf, result.ptr - buf);  // shortest round trip: "-d.ddde+XX"
  const size_t e_pos = sci.find('e');
  std::string_view mantissa = sci.substr(0, e_pos);
  const int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  std::string out;
  if (!mantissa.empty() && mantissa[0] == '-') {
    out += '-';
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  // repr switches to exponent notation below 1e-4 and from 1e16 on.
  if (exponent >= 0 && exponent < 16) {
    const size_t int_digits = static_cast<size_t>(exponent) + 1;
    out.append(digits, 0, std::min(int_digits, digits.size()));
    if (digits.size() < int_digits) out.append(int_digits - digits.size(), '0');
    out += '.';
    if (digits.size() > int_digits) {
      out.append(digits, int_digits, std::string::npos);
    } else {
      out += '0';
    }
    return out;
  }
  if (exponent < 0 && exponent >= -4) {
    out += "0.";
    out.append(static_cast<size_t>(-exponent - 1), '0');
    out += digits;
    return out;
  }
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out.append(digits, 1, std::string::npos);
  }
  const int magnitude = std::abs(exponent);
  out += exponent < 0 ? "e-" : "e+";
  if (magnitude < 10) out += '0';
  out += std::to_string(magnitude);
  return out;
}

}  // namespace dsv4::render
