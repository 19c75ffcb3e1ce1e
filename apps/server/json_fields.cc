#include "apps/server/json_fields.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "apps/server/api_error.h"
#include "base/json_limits.h"

namespace dsv4::server {
namespace {

// How many stop strings a request may give: enough for any client seen, small enough that
// matching them after every token stays cheap.
constexpr size_t kMaxStopStrings = 16;

}  // namespace

const char* type_name(const Json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  return "null";
}

Json parse_request_body(std::string_view body, size_t max_depth, size_t max_elements) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw ApiError(ErrorKind::kInvalidRequest, "the request body is empty: expected a JSON object");
  const size_t depth = json_nesting_depth(body);
  if (depth > max_depth)
    throw ApiError(ErrorKind::kInvalidRequest,
                   "the request body nests JSON " + std::to_string(depth) +
                       " levels deep, more than the limit of " + std::to_string(max_depth));
  if (const size_t elements = json_element_count(body); elements > max_elements)
    throw ApiError(ErrorKind::kInvalidRequest,
                   "the request body holds " + std::to_string(elements) +
                       " JSON values, more than the limit of " + std::to_string(max_elements));
  try {
    return Json::parse(body.begin(), body.end());
  } catch (const Json::exception& e) {
    throw ApiError(ErrorKind::kInvalidRequest,
                   "the request body is not valid JSON: " + json_error_message(e));
  }
}

std::string field_path(const std::string& where, std::string_view key) {
  return where.empty() ? std::string(key) : where + "." + std::string(key);
}

const Json* member(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

void require_object(const Json& value, const std::string& where) {
  if (!value.is_object())
    invalid_field(where.empty() ? "body" : where,
                  std::string("expected an object, got ") + type_name(value));
}

std::optional<std::string> optional_string(const Json& object, std::string_view key,
                                           const std::string& where) {
  const Json* v = member(object, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string())
    invalid_field(field_path(where, key), std::string("expected a string, got ") + type_name(*v));
  return v->get<std::string>();
}

std::optional<bool> optional_bool(const Json& object, std::string_view key,
                                  const std::string& where) {
  const Json* v = member(object, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean())
    invalid_field(field_path(where, key), std::string("expected a boolean, got ") + type_name(*v));
  return v->get<bool>();
}

std::optional<double> optional_number(const Json& object, std::string_view key, double min,
                                      double max, const std::string& where) {
  const Json* v = member(object, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number())
    invalid_field(field_path(where, key), std::string("expected a number, got ") + type_name(*v));
  const double x = v->get<double>();
  if (!(x >= min && x <= max)) {
    char range[96];
    std::snprintf(range, sizeof range, "must be between %g and %g", min, max);
    invalid_field(field_path(where, key), range);
  }
  return x;
}

std::optional<int64_t> optional_integer(const Json& object, std::string_view key, int64_t min,
                                        int64_t max, const std::string& where) {
  const Json* v = member(object, key);
  if (v == nullptr) return std::nullopt;
  const std::string path = field_path(where, key);
  int64_t x = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() &&
        v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      x = std::numeric_limits<int64_t>::max();
    else
      x = v->get<int64_t>();
  } else if (v->is_number_float() && std::nearbyint(v->get<double>()) == v->get<double>() &&
             std::abs(v->get<double>()) < 9e18) {
    x = static_cast<int64_t>(v->get<double>());  // 100.0 from clients that only have doubles
  } else {
    invalid_field(path, std::string("expected an integer, got ") + type_name(*v));
  }
  if (x < min || x > max)
    invalid_field(path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return x;
}

std::vector<std::string> stop_strings(const Json& object, std::string_view key) {
  const Json* v = member(object, key);
  std::vector<std::string> out;
  if (v == nullptr) return out;
  const std::string path(key);
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    if (v->size() > kMaxStopStrings)
      invalid_field(path, "at most " + std::to_string(kMaxStopStrings) + " stop strings");
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string())
        invalid_field(path + "[" + std::to_string(i) + "]",
                      std::string("expected a string, got ") + type_name((*v)[i]));
      out.push_back((*v)[i].get<std::string>());
    }
  } else {
    invalid_field(path,
                  std::string("expected a string or a list of strings, got ") + type_name(*v));
  }
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].empty()) invalid_field(path, "stop strings must not be empty");
  return out;
}

}  // namespace dsv4::server
