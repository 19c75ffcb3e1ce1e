// safetensors reader: the release checkpoint layout of ../shared/testdata/tiny-a, and defects.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/json_limits.h"
#include "gguf/safetensors.h"
#include "tests/support/testdata.h"

using namespace dsv4::gguf;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> safetensors_image(const std::string& header_json, size_t data_bytes) {
  std::vector<uint8_t> out(8 + header_json.size() + data_bytes, 0);
  const uint64_t n = header_json.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, header_json.data(), header_json.size());
  return out;
}

std::string parse_error(const std::string& header, size_t data_bytes) {
  try {
    SafeTensorsFile::parse_bytes(safetensors_image(header, data_bytes), "x.safetensors");
  } catch (const dsv4::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("tiny-a: every tensor in the index is found with its header dtype and shape") {
  auto dir = dsv4::testing::require_testdata("tiny-a");
  if (!dir) return;
  const SafeTensorsCheckpoint ckpt = SafeTensorsCheckpoint::open(*dir);
  CHECK(ckpt.shard_count() == 2);
  const auto index = dsv4::parse_json_limited(
      dsv4::testing::read_file(*dir + "/model.safetensors.index.json"), "index");
  size_t listed = 0;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    const SafeTensor* t = ckpt.find(name);
    REQUIRE_MESSAGE(t != nullptr, name);
    CHECK(t->file == shard.get<std::string>());
    CHECK(t->size_bytes == t->elements * safe_dtype_size(t->dtype));
    ++listed;
  }
  CHECK(listed == ckpt.names().size());
  // Spot checks against the release layout (REFERENCES.md §5).
  const SafeTensor& wq_a = ckpt.get("layers.0.attn.wq_a.weight");
  CHECK(wq_a.dtype == SafeDType::F8_E4M3);
  CHECK(wq_a.shape == std::vector<int64_t>{128, 256});
  const SafeTensor& w1 = ckpt.get("layers.3.ffn.experts.0.w1.weight");
  CHECK(w1.dtype == SafeDType::I8);
  CHECK(w1.shape == std::vector<int64_t>{128, 128});
  CHECK(ckpt.get("layers.3.ffn.experts.0.w1.scale").dtype == SafeDType::F8_E8M0);
  CHECK(ckpt.get("layers.0.ffn.gate.tid2eid").dtype == SafeDType::I64);
  CHECK_THROWS_WITH_AS(ckpt.get("nope"), doctest::Contains("no tensor 'nope'"), dsv4::Error);
}

TEST_CASE("tiny-a with a missing shard is a clear error") {
  auto dir = dsv4::testing::require_testdata("tiny-a");
  if (!dir) return;
  const fs::path copy = fs::path(dsv4::testing::scratch_dir()) / "tiny-a-missing-shard";
  fs::remove_all(copy);
  fs::create_directories(copy);
  fs::copy_file(fs::path(*dir) / "model.safetensors.index.json",
                copy / "model.safetensors.index.json");
  fs::create_symlink(fs::path(*dir) / "model-00001-of-00002.safetensors",
                     copy / "model-00001-of-00002.safetensors");
  CHECK_THROWS_WITH_AS(
      SafeTensorsCheckpoint::open(copy.string()),
      doctest::Contains("model-00002-of-00002.safetensors: shard listed in the index"),
      dsv4::Error);
}

TEST_CASE("header defects are named") {
  CHECK(parse_error(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 16).empty());
  CHECK(parse_error(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,32]}})", 16)
            .find("outside the data section") != std::string::npos);
  CHECK(parse_error(R"({"a":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}})", 16)
            .find("needs 20") != std::string::npos);
  CHECK(parse_error(R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})", 16)
            .find("unsupported dtype 'Q4'") != std::string::npos);
  CHECK(parse_error(R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", 16)
            .find("negative") != std::string::npos);
  CHECK(parse_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                    16)
            .find("overlap") != std::string::npos);
  CHECK(parse_error(R"({"a":)", 16).find("invalid JSON") != std::string::npos);
  // A number beyond double range is nlohmann's out_of_range, not a parse error (fuzz finding).
  CHECK(parse_error(R"({"a":{"dtype":"F32","shape":[1e999],"data_offsets":[0,16]}})", 16)
            .find("invalid JSON: number overflow") != std::string::npos);
  CHECK(parse_error(std::string(100, '[') + std::string(100, ']'), 0).find("nesting depth") !=
        std::string::npos);
  {
    std::vector<uint8_t> bytes = safetensors_image("{}", 0);
    const uint64_t huge = uint64_t{1} << 40;
    std::memcpy(bytes.data(), &huge, 8);
    CHECK_THROWS_WITH_AS(SafeTensorsFile::parse_bytes(bytes, "x.safetensors"),
                         doctest::Contains("exceeds the file size"), dsv4::Error);
  }
}

TEST_CASE("index shard names must be plain file names inside the checkpoint") {
  const auto by_shard = parse_safetensors_index(
      R"({"metadata": {}, "weight_map": {"a": "s1.safetensors", "b": "s1.safetensors",
          "c": "s2.safetensors"}})",
      "index.json");
  CHECK(by_shard.size() == 2);
  CHECK(by_shard.at("s1.safetensors") == std::vector<std::string>{"a", "b"});
  // "" and "." name the directory itself, which was once opened as a shard.
  for (const char* name : {"", ".", "..", "../x.safetensors", "sub/x.safetensors"}) {
    CAPTURE(name);
    const std::string text = std::string(R"({"weight_map": {"a": ")") + name + "\"}}";
    CHECK_THROWS_WITH_AS(parse_safetensors_index(text, "index.json"),
                         doctest::Contains("must be a plain file name"), dsv4::Error);
  }
  CHECK_THROWS_WITH_AS(parse_safetensors_index("[1]", "index.json"),
                       doctest::Contains("lacks a 'weight_map' object"), dsv4::Error);
  CHECK_THROWS_WITH_AS(parse_safetensors_index(R"({"weight_map": {"a": 1}})", "index.json"),
                       doctest::Contains("is not a string"), dsv4::Error);
}
