// GGUF writer: what it writes, the reader reads back identically, in bounded memory.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "base/error.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "tests/support/testdata.h"

using namespace dsv4::gguf;

namespace {

long max_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

std::vector<KeyValue> every_metadata_type() {
  std::vector<KeyValue> kvs = {
      {"t.u8", Value::of_u8(200)},
      {"t.i8", Value::of_i8(-100)},
      {"t.u16", Value::of_u16(65000)},
      {"t.i16", Value::of_i16(-32000)},
      {"t.u32", Value::of_u32(4000000000u)},
      {"t.i32", Value::of_i32(-2000000000)},
      {"t.f32", Value::of_f32(1e-6f)},
      {"t.bool", Value::of_bool(true)},
      {"t.string", Value::of_string("<｜begin▁of▁sentence｜>")},
      {"t.u64", Value::of_u64(uint64_t{1} << 60)},
      {"t.i64", Value::of_i64(-(int64_t{1} << 60))},
      {"t.f64", Value::of_f64(0.08838834764831845)},
      {"t.strings", Value::of_string_array({"a", "", "Ġthe", "é"})},
      {"t.i32s", Value::of_i32_array({0, 0, 4, 128, 4})},
      {"t.f32s", Value::of_f32_array({10.0f, 10.0f})},
  };
  // Nested arrays: an array of two arrays of u16.
  std::vector<Value> inner = {Value::of_array(ValueType::U16, {Value::of_u16(1), Value::of_u16(2)}),
                              Value::of_array(ValueType::U16, {Value::of_u16(3)})};
  kvs.push_back({"t.nested", Value::of_array(ValueType::ARRAY, inner)});
  return kvs;
}

}  // namespace

TEST_CASE("round trip of every metadata type and every tensor type is byte-identical") {
  const std::string path = dsv4::testing::scratch_dir() + "/roundtrip.gguf";
  const std::string path2 = dsv4::testing::scratch_dir() + "/roundtrip2.gguf";
  const std::vector<KeyValue> kvs = every_metadata_type();
  const TensorType types[] = {TensorType::F32,  TensorType::F16,     TensorType::BF16,
                              TensorType::Q8_0, TensorType::Q2_K,    TensorType::Q4_K,
                              TensorType::Q8_K, TensorType::IQ2_XXS, TensorType::MXFP4,
                              TensorType::I8,   TensorType::I32,     TensorType::I64};
  std::mt19937 rng(7);
  std::vector<std::vector<uint8_t>> payloads;
  {
    GgufWriter w(path);
    for (const auto& kv : kvs) w.add_metadata(kv.key, kv.value);
    for (TensorType t : types) {
      const int64_t row = type_traits(t).block_elems * 2;
      w.add_tensor(std::string("tensor.") + std::string(type_name(t)), {row, 3}, t);
    }
    for (size_t k = 0; k < w.tensor_count(); ++k) {
      std::vector<uint8_t> data(w.tensor_size(k));
      for (auto& b : data) b = static_cast<uint8_t>(rng());
      // Write in two pieces to exercise streaming.
      w.write_tensor_data(data.data(), data.size() / 3);
      w.write_tensor_data(data.data() + data.size() / 3, data.size() - data.size() / 3);
      payloads.push_back(std::move(data));
    }
    w.finish();
  }
  GgufFile f = GgufFile::open(path);
  REQUIRE(f.metadata().size() == kvs.size());
  for (size_t k = 0; k < kvs.size(); ++k) {
    CAPTURE(kvs[k].key);
    CHECK(f.metadata()[k].key == kvs[k].key);
    CHECK(f.metadata()[k].value == kvs[k].value);
  }
  REQUIRE(f.tensors().size() == std::size(types));
  for (size_t k = 0; k < f.tensors().size(); ++k) {
    const TensorInfo& t = f.tensors()[k];
    CHECK(t.type == types[k]);
    CHECK(t.offset % f.alignment() == 0);
    REQUIRE(t.size_bytes == payloads[k].size());
    CHECK(std::memcmp(f.tensor_data(t), payloads[k].data(), t.size_bytes) == 0);
  }
  // Writing what was read reproduces the file byte for byte.
  {
    GgufWriter w(path2);
    for (const auto& kv : f.metadata()) w.add_metadata(kv.key, kv.value);
    for (const auto& t : f.tensors()) w.add_tensor(t.name, t.dims, t.type);
    for (const auto& t : f.tensors()) w.write_tensor_data(f.tensor_data(t), t.size_bytes);
    w.finish();
  }
  CHECK(dsv4::testing::read_file(path) == dsv4::testing::read_file(path2));
  // The same tensors once copied out of the mapping into huge pages.
  CHECK_FALSE(f.data_in_huge_pages());
  f.copy_data_into(dsv4::HugePageBuffer(f.data_bytes()));
  CHECK(f.data_in_huge_pages());
  for (size_t k = 0; k < f.tensors().size(); ++k) {
    const TensorInfo& t = f.tensors()[k];
    CHECK(reinterpret_cast<uintptr_t>(f.tensor_data(t)) % f.alignment() == 0);
    CHECK(std::memcmp(f.tensor_data(t), payloads[k].data(), t.size_bytes) == 0);
  }
}

TEST_CASE("10000 tensors write and read in bounded memory") {
  const std::string path = dsv4::testing::scratch_dir() + "/many.gguf";
  constexpr int kTensors = 10000;
  constexpr int64_t kElems = 4096;  // 16 KiB of f32 each: 160 MiB in all
  const long rss_before = max_rss_kb();
  {
    GgufWriter w(path);
    w.add_metadata("general.architecture", Value::of_string("test"));
    for (int k = 0; k < kTensors; ++k)
      w.add_tensor("blk." + std::to_string(k) + ".weight", {kElems}, TensorType::F32);
    std::vector<float> row(kElems);
    for (int k = 0; k < kTensors; ++k) {
      for (int64_t i = 0; i < kElems; ++i)
        row[static_cast<size_t>(i)] = static_cast<float>(k) + 1e-3f * i;
      w.write_tensor_data(row.data(), row.size() * sizeof(float));
    }
    w.finish();
  }
  const long rss_written = max_rss_kb();
  const GgufFile f = GgufFile::open(path);
  REQUIRE(f.tensors().size() == kTensors);
  for (int k : {0, 1, 4999, 9999}) {
    const TensorInfo* t = f.find_tensor("blk." + std::to_string(k) + ".weight");
    REQUIRE(t != nullptr);
    float first, last;
    std::memcpy(&first, f.tensor_data(*t), 4);
    std::memcpy(&last, f.tensor_data(*t) + (kElems - 1) * 4, 4);
    CHECK(first == static_cast<float>(k));
    CHECK(last == static_cast<float>(k) + 1e-3f * (kElems - 1));
  }
  const long rss_read = max_rss_kb();
  MESSAGE("peak RSS growth: write ", (rss_written - rss_before) / 1024, " MiB, read ",
          (rss_read - rss_written) / 1024, " MiB for 160 MiB of tensors");
  CHECK(rss_written - rss_before < 48 * 1024);
  CHECK(rss_read - rss_written < 48 * 1024);
  std::filesystem::remove(path);
}

TEST_CASE("writer refuses inconsistent declarations") {
  const std::string path = dsv4::testing::scratch_dir() + "/bad.gguf";
  GgufWriter w(path);
  w.add_tensor("a", {32}, TensorType::Q8_0);
  CHECK_THROWS_WITH_AS(w.add_tensor("a", {32}, TensorType::F32),
                       doctest::Contains("duplicate tensor name"), dsv4::Error);
  CHECK_THROWS_WITH_AS(w.add_tensor("b", {33}, TensorType::Q8_0), doctest::Contains("whole number"),
                       dsv4::Error);
  w.add_metadata("k", Value::of_u8(1));
  CHECK_THROWS_WITH_AS(w.add_metadata("k", Value::of_u8(2)),
                       doctest::Contains("duplicate metadata key"), dsv4::Error);
  std::vector<uint8_t> data(10);
  w.write_tensor_data(data.data(), data.size());
  CHECK_THROWS_WITH_AS(w.finish(), doctest::Contains("received 10 of its 34 bytes"), dsv4::Error);
  CHECK(!std::filesystem::exists(path));
}
