#include "base/npy.h"

#include <cstring>
#include <fstream>
#include <limits>

#include "base/atomic_file.h"
#include "base/error.h"

namespace dsv4 {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

size_t dtype_size(const std::string& dtype) {
  if (dtype == "<f4" || dtype == "<i4") return 4;
  if (dtype == "<i8") return 8;
  return 0;
}

// Extracts the value text of `'key': value` from the header dict.
std::string header_field(const std::string& header, const std::string& key,
                         const std::string& path) {
  const std::string needle = "'" + key + "'";
  size_t at = header.find(needle);
  if (at == std::string::npos) fail(path, ": npy header lacks '", key, "'");
  at = header.find(':', at + needle.size());
  if (at == std::string::npos) fail(path, ": npy header is malformed near '", key, "'");
  size_t begin = at + 1;
  while (begin < header.size() && header[begin] == ' ') ++begin;
  size_t end = begin;
  if (begin < header.size() && header[begin] == '(') {
    end = header.find(')', begin);
    if (end == std::string::npos) fail(path, ": npy shape is not closed");
    return header.substr(begin, end - begin + 1);
  }
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  return header.substr(begin, end - begin);
}

std::vector<int64_t> parse_shape(const std::string& text, const std::string& path) {
  std::vector<int64_t> shape;
  size_t i = 1;  // skip '('
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
    if (i >= text.size() || text[i] == ')') break;
    int64_t value = 0;
    bool any = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (value > (std::numeric_limits<int64_t>::max() - 9) / 10)
        fail(path, ": npy dimension too large");
      value = value * 10 + (text[i] - '0');
      any = true;
      ++i;
    }
    if (!any) fail(path, ": npy shape '", text, "' is malformed");
    shape.push_back(value);
  }
  return shape;
}

}  // namespace

int64_t NpyArray::element_count() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  char magic[6];
  uint8_t version[2];
  if (!in.read(magic, 6) || std::memcmp(magic, kMagic, 6) != 0)
    fail(path, ": not a .npy file (bad magic)");
  if (!in.read(reinterpret_cast<char*>(version), 2)) fail(path, ": truncated npy header");
  uint32_t header_len = 0;
  if (version[0] == 1) {
    uint8_t b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) fail(path, ": truncated npy header");
    header_len = b[0] | (b[1] << 8);
  } else if (version[0] == 2 || version[0] == 3) {
    uint8_t b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) fail(path, ": truncated npy header");
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
    if (header_len > (1u << 20))
      fail(path, ": npy header of ", header_len, " bytes is implausible");
  } else {
    fail(path, ": unsupported npy version ", int(version[0]));
  }
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) fail(path, ": truncated npy header");

  NpyArray array;
  std::string descr = header_field(header, "descr", path);
  if (descr.size() >= 2) descr = descr.substr(1, descr.size() - 2);  // strip quotes
  array.dtype = descr;
  const size_t elem = dtype_size(descr);
  if (elem == 0) fail(path, ": unsupported npy dtype '", descr, "' (want <f4, <i4 or <i8)");
  if (header_field(header, "fortran_order", path).find("False") == std::string::npos)
    fail(path, ": Fortran-ordered npy arrays are not supported");
  array.shape = parse_shape(header_field(header, "shape", path), path);

  uint64_t count = 1;
  for (int64_t d : array.shape) {
    if (d != 0 && count > (uint64_t{1} << 40) / static_cast<uint64_t>(d))
      fail(path, ": npy array too large");
    count *= static_cast<uint64_t>(d);
  }
  array.data.resize(count * elem);
  if (!in.read(reinterpret_cast<char*>(array.data.data()),
               static_cast<std::streamsize>(array.data.size())))
    fail(path, ": npy data is shorter than its shape says");
  return array;
}

std::vector<int32_t> read_npy_tokens(const std::string& path) {
  NpyArray array = read_npy(path);
  const int64_t n = array.element_count();
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  if (array.dtype == "<i4") {
    std::memcpy(tokens.data(), array.data.data(), tokens.size() * 4);
  } else if (array.dtype == "<i8") {
    for (int64_t i = 0; i < n; ++i) {
      int64_t v;
      std::memcpy(&v, array.data.data() + i * 8, 8);
      if (v < 0 || v > std::numeric_limits<int32_t>::max())
        fail(path, ": token id ", v, " at index ", i, " is out of range");
      tokens[static_cast<size_t>(i)] = static_cast<int32_t>(v);
    }
  } else {
    fail(path, ": token ids must be an integer array, found dtype ", array.dtype);
  }
  for (int64_t i = 0; i < n; ++i)
    if (tokens[static_cast<size_t>(i)] < 0) fail(path, ": negative token id at index ", i);
  return tokens;
}

void write_npy_f32(const std::string& path, const float* data, int64_t rows, int64_t cols) {
  std::string header =
      str_cat("{'descr': '<f4', 'fortran_order': False, 'shape': (", rows, ", ", cols, "), }");
  // Pad so that magic(6) + version(2) + len(2) + header + '\n' is a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string prefix(kMagic, 6);
  prefix.push_back('\x01');
  prefix.push_back('\x00');
  prefix.push_back(static_cast<char>(header.size() & 0xFF));
  prefix.push_back(static_cast<char>(header.size() >> 8));
  AtomicFileWriter out(path);
  out.write(prefix.data(), prefix.size());
  out.write(header.data(), header.size());
  out.write(data, static_cast<size_t>(rows * cols) * sizeof(float));
  out.commit();
}

}  // namespace dsv4
