#include "gguf/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/json_limits.h"
#include "base/shape.h"

namespace dsv4::gguf {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;

struct DTypeEntry {
  const char* name;
  SafeDType dtype;
  size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {"F64", SafeDType::F64, 8},         {"F32", SafeDType::F32, 4},
    {"F16", SafeDType::F16, 2},         {"BF16", SafeDType::BF16, 2},
    {"F8_E4M3", SafeDType::F8_E4M3, 1}, {"F8_E8M0", SafeDType::F8_E8M0, 1},
    {"I64", SafeDType::I64, 8},         {"I32", SafeDType::I32, 4},
    {"I16", SafeDType::I16, 2},         {"I8", SafeDType::I8, 1},
    {"U8", SafeDType::U8, 1},           {"BOOL", SafeDType::BOOL, 1},
};

}  // namespace

std::string_view safe_dtype_name(SafeDType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e.name;
  return "?";
}

size_t safe_dtype_size(SafeDType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e.size;
  return 0;
}

std::string SafeTensor::shape_string() const {
  return dsv4::shape_string(shape);
}

std::unique_ptr<SafeTensorsFile> SafeTensorsFile::open(const std::string& path) {
  std::unique_ptr<SafeTensorsFile> file(new SafeTensorsFile());
  file->path_ = path;
  file->mapping_ = MappedFile(path);
  file->base_ = file->mapping_.data();
  file->size_ = file->mapping_.size();
  file->parse();
  return file;
}

std::unique_ptr<SafeTensorsFile> SafeTensorsFile::parse_bytes(std::vector<uint8_t> bytes,
                                                              const std::string& label) {
  std::unique_ptr<SafeTensorsFile> file(new SafeTensorsFile());
  file->path_ = label;
  file->owned_ = std::move(bytes);
  file->base_ = file->owned_.data();
  file->size_ = file->owned_.size();
  file->parse();
  return file;
}

void SafeTensorsFile::parse() {
  if (size_ < 8) fail(path_, ": file of ", size_, " bytes is too short to be safetensors");
  uint64_t header_len;
  std::memcpy(&header_len, base_, 8);
  if (header_len > size_ - 8)
    fail(path_, ": header length ", header_len, " exceeds the file size (", size_, " bytes)");
  if (header_len > kMaxHeaderBytes)
    fail(path_, ": header of ", header_len, " bytes is implausibly large");
  const std::string_view text(reinterpret_cast<const char*>(base_ + 8), header_len);
  const nlohmann::json header = parse_json_limited(text, path_, {kMaxHeaderBytes, 8});
  if (!header.is_object()) fail(path_, ": header is not a JSON object");

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size_ - data_start;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path_, ": __metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) fail(path_, ": __metadata__ value '", k, "' is not a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object()) fail(path_, ": tensor '", name, "' entry is not an object");
    SafeTensor t;
    t.name = name;
    t.file = std::filesystem::path(path_).filename().string();
    const auto dtype = entry.find("dtype");
    if (dtype == entry.end() || !dtype->is_string())
      fail(path_, ": tensor '", name, "' lacks a dtype string");
    const std::string dtype_name = dtype->get<std::string>();
    const DTypeEntry* known = nullptr;
    for (const auto& e : kDTypes)
      if (dtype_name == e.name) known = &e;
    if (known == nullptr)
      fail(path_, ": tensor '", name, "' has unsupported dtype '", dtype_name, "'");
    t.dtype = known->dtype;

    const auto shape = entry.find("shape");
    if (shape == entry.end() || !shape->is_array())
      fail(path_, ": tensor '", name, "' lacks a shape array");
    uint64_t elements = 1;
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned())
        fail(path_, ": tensor '", name, "' has a non-integer or negative dimension");
      const uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          __builtin_mul_overflow(elements, dim, &elements))
        fail(path_, ": tensor '", name, "' element count overflows");
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    t.elements = elements;

    const auto offsets = entry.find("data_offsets");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
      fail(path_, ": tensor '", name, "' lacks data_offsets [begin, end]");
    const uint64_t begin = (*offsets)[0].get<uint64_t>();
    const uint64_t end = (*offsets)[1].get<uint64_t>();
    if (begin > end || end > data_size)
      fail(path_, ": tensor '", name, "' data_offsets [", begin, ", ", end,
           "] lie outside the data section of ", data_size, " bytes");
    uint64_t expected = 0;
    if (__builtin_mul_overflow(elements, known->size, &expected) || expected != end - begin)
      fail(path_, ": tensor '", name, "' has ", end - begin, " bytes but shape ", t.shape_string(),
           " of ", dtype_name, " needs ", elements * known->size);
    t.data = base_ + data_start + begin;
    t.size_bytes = end - begin;
    if (t.size_bytes > 0) ranges.emplace_back(begin, end);
    tensors_.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t k = 1; k < ranges.size(); ++k)
    if (ranges[k].first < ranges[k - 1].second)
      fail(path_, ": tensor data ranges overlap at byte ", ranges[k].first, " of the data section");
}

const SafeTensor* SafeTensorsFile::find(std::string_view name) const {
  auto it = tensors_.find(std::string(name));
  return it == tensors_.end() ? nullptr : &it->second;
}

std::map<std::string, std::vector<std::string>> parse_safetensors_index(std::string_view text,
                                                                        const std::string& label) {
  const nlohmann::json index = parse_json_limited(text, label);
  if (!index.is_object()) fail(label, ": lacks a 'weight_map' object");
  const auto map = index.find("weight_map");
  if (map == index.end() || !map->is_object()) fail(label, ": lacks a 'weight_map' object");
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [name, shard] : map->items()) {
    if (!shard.is_string()) fail(label, ": weight_map entry '", name, "' is not a string");
    const std::string shard_name = shard.get<std::string>();
    if (shard_name.empty() || shard_name == "." || shard_name == ".." ||
        shard_name.find('/') != std::string::npos || shard_name.find('\0') != std::string::npos)
      fail(label, ": shard name '", shard_name, "' must be a plain file name");
    by_shard[shard_name].push_back(name);
  }
  return by_shard;
}

SafeTensorsCheckpoint SafeTensorsCheckpoint::open(const std::string& directory) {
  namespace fs = std::filesystem;
  SafeTensorsCheckpoint ckpt;
  ckpt.directory_ = directory;
  if (!fs::is_directory(directory)) fail(directory, ": not a directory");
  const fs::path index_path = fs::path(directory) / "model.safetensors.index.json";

  if (fs::exists(index_path)) {
    std::ifstream in(index_path);
    if (!in) fail(index_path.string(), ": cannot open");
    std::stringstream buffer;
    buffer << in.rdbuf();
    const auto by_shard = parse_safetensors_index(buffer.str(), index_path.string());
    for (const auto& [shard_name, names] : by_shard) {
      const fs::path shard_path = fs::path(directory) / shard_name;
      if (!fs::exists(shard_path))
        fail(shard_path.string(), ": shard listed in the index (for tensor '", names.front(),
             "') is missing");
      ckpt.shards_.push_back(SafeTensorsFile::open(shard_path.string()));
      const SafeTensorsFile& file = *ckpt.shards_.back();
      std::set<std::string> listed(names.begin(), names.end());
      for (const std::string& name : names) {
        const SafeTensor* t = file.find(name);
        if (t == nullptr)
          fail(shard_path.string(), ": tensor '", name,
               "' is listed in the index for this shard but not present");
        ckpt.index_.emplace(name, t);
      }
      for (const auto& [name, tensor] : file.tensors())
        if (!listed.count(name))
          fail(shard_path.string(), ": holds tensor '", name, "' that the index does not list");
    }
  } else {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(directory))
      if (entry.path().extension() == ".safetensors") files.push_back(entry.path());
    if (files.empty())
      fail(directory, ": no model.safetensors.index.json and no .safetensors files");
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      ckpt.shards_.push_back(SafeTensorsFile::open(path.string()));
      for (const auto& [name, tensor] : ckpt.shards_.back()->tensors())
        if (!ckpt.index_.emplace(name, &tensor).second)
          fail(path.string(), ": tensor '", name, "' also appears in another shard");
    }
  }
  return ckpt;
}

const SafeTensor* SafeTensorsCheckpoint::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

const SafeTensor& SafeTensorsCheckpoint::get(std::string_view name) const {
  const SafeTensor* t = find(name);
  if (t == nullptr) fail(directory_, ": checkpoint has no tensor '", name, "'");
  return *t;
}

std::vector<std::string> SafeTensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& [name, t] : index_) out.push_back(name);
  return out;
}

uint64_t SafeTensorsCheckpoint::total_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, t] : index_) total += t->size_bytes;
  return total;
}

}  // namespace dsv4::gguf
