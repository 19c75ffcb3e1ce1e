// GGUF reader: strict validation. Every defect must produce one error that names it.
#include <doctest/doctest.h>

#include <string>

#include "base/error.h"
#include "gguf/reader.h"
#include "tests/support/gguf_builder.h"

using dsv4::Error;
using dsv4::gguf::GgufFile;
using dsv4::testing::GgufBuilder;

namespace {

// A valid file: two metadata keys, one f32 tensor of 8 elements.
GgufBuilder valid_file() {
  GgufBuilder b;
  b.header(3, 1, 2)
      .kv_string("general.architecture", "deepseek4")
      .kv_u32("deepseek4.block_count", 43);
  b.tensor("token_embd.weight", {8}, 0, 0).align().data(32, 1);
  return b;
}

std::string parse_error(const std::vector<uint8_t>& bytes) {
  try {
    GgufFile::parse_bytes(bytes, "test.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("valid file parses with typed accessors") {
  const GgufFile f = GgufFile::parse_bytes(valid_file().bytes, "test.gguf");
  CHECK(f.version() == 3);
  CHECK(f.get_string("general.architecture") == "deepseek4");
  CHECK(f.get_u32("deepseek4.block_count") == 43);
  CHECK(f.get_u64("deepseek4.block_count") == 43);
  CHECK(f.get_f64("deepseek4.block_count") == 43.0);
  REQUIRE(f.tensors().size() == 1);
  const auto* t = f.find_tensor("token_embd.weight");
  REQUIRE(t != nullptr);
  CHECK(t->size_bytes == 32);
  CHECK(f.tensor_data(*t)[0] == 1);
}

TEST_CASE("typed accessor errors name the key and both types") {
  const GgufFile f = GgufFile::parse_bytes(valid_file().bytes, "test.gguf");
  try {
    f.get_u32("general.architecture");
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("general.architecture") != std::string::npos);
    CHECK(m.find("unsigned integer") != std::string::npos);
    CHECK(m.find("found string") != std::string::npos);
  }
  try {
    f.get_bool("deepseek4.nope");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("missing metadata key 'deepseek4.nope'") != std::string::npos);
  }
}

TEST_CASE("defects are named") {
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    const char* expected;
  };
  std::vector<Case> cases;
  {
    auto b = valid_file();
    b.bytes[0] = 'X';
    cases.push_back({"bad magic", b.bytes, "bad magic"});
  }
  {
    auto b = valid_file();
    b.bytes[4] = 99;
    cases.push_back({"version 99", b.bytes, "unsupported GGUF version 99"});
  }
  {
    GgufBuilder b;
    b.header(3, uint64_t{1} << 62, 0).data(64);
    cases.push_back({"n_tensors 2^62", b.bytes, "tensor count 4611686018427387904 exceeds"});
  }
  {
    GgufBuilder b;
    b.header(3, (1 << 20) + 1, 0).data(64);
    cases.push_back({"tensor count over the limit", b.bytes, "exceeds the limit of 1048576"});
  }
  {
    GgufBuilder b;
    b.header(3, 0, (1 << 16) + 1).data(64);
    cases.push_back({"metadata count over the limit", b.bytes, "exceeds the limit of 65536"});
  }
  {
    GgufBuilder b;
    b.header(3, 0, 1).put<uint64_t>(70000).data(70000);
    cases.push_back({"key longer than 65535 bytes", b.bytes, "more than the limit of 65535"});
  }
  {
    GgufBuilder b;
    b.header(3, 0, 1).str("k").put<uint32_t>(8).put<uint64_t>(uint64_t{65} << 20).data(64);
    cases.push_back({"string over 64 MiB", b.bytes, "more than the limit of 67108864"});
  }
  {
    // Within the file size (one byte per element) but over the element limit: parsed, it
    // would take ~140 times the file's size in memory.
    GgufBuilder b;
    b.header(3, 0, 1).str("k").put<uint32_t>(9).put<uint32_t>(0).put<uint64_t>((1 << 22) + 1);
    b.data((1 << 22) + 1);
    cases.push_back({"array over the element limit", b.bytes, "more than the limit of 4194304"});
  }
  {
    GgufBuilder b;
    b.header(3, 0, 1).put<uint64_t>(1000).data(20);
    cases.push_back({"string length past EOF", b.bytes, "claims 1000 bytes"});
  }
  {
    GgufBuilder b;
    b.header(3, 1, 0).tensor("t", {uint64_t{1} << 32, uint64_t{1} << 32}, 0, 0).align().data(64);
    cases.push_back({"dims product overflow", b.bytes, "element count overflows"});
  }
  {
    GgufBuilder b;
    b.header(3, 1, 0).tensor("t", {8}, 77, 0).align().data(64);
    cases.push_back({"unknown type id", b.bytes, "unknown type id 77"});
  }
  {
    GgufBuilder b;
    b.header(3, 1, 0).tensor("t", {1024}, 0, 0).align().data(64);
    cases.push_back({"tensor data past EOF", b.bytes, "extends past the end of the file"});
  }
  {
    GgufBuilder b;
    b.header(3, 2, 0).tensor("t", {8}, 0, 0).tensor("t", {8}, 0, 32).align().data(64);
    cases.push_back({"duplicate tensor name", b.bytes, "duplicate tensor name 't'"});
  }
  {
    GgufBuilder b;
    b.header(3, 0, 2).kv_u32("a", 1).kv_u32("a", 2);
    cases.push_back({"duplicate key", b.bytes, "duplicate metadata key 'a'"});
  }
  {
    GgufBuilder b;
    b.header(3, 1, 0).tensor("t", {8}, 0, 4).align().data(64);
    cases.push_back({"misaligned offset", b.bytes, "not a multiple of the alignment"});
  }
  {
    GgufBuilder b;
    b.header(3, 1, 0).tensor("t", {33}, 8, 0).align().data(64);
    cases.push_back({"partial block", b.bytes, "not a multiple of the q8_0 block size"});
  }
  {
    GgufBuilder b;
    b.header(3, 0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(uint64_t{1} << 40);
    cases.push_back({"array count past EOF", b.bytes, "claims an array of 1099511627776"});
  }
  {
    GgufBuilder b;
    b.header(3, 0, 1).str("k").put<uint32_t>(9);
    for (int d = 0; d < 10; ++d) b.put<uint32_t>(9).put<uint64_t>(1);
    b.put<uint32_t>(4).put<uint64_t>(1).put<uint32_t>(0);
    cases.push_back({"array nesting", b.bytes, "nests arrays deeper"});
  }
  {
    GgufBuilder b;
    b.header(3, 1, 0).tensor("t", {8, 1, 1, 1, 1}, 0, 0).align().data(64);
    cases.push_back({"too many dims", b.bytes, "has 5 dimensions"});
  }
  for (const Case& c : cases) {
    const std::string what = c.what;
    const std::string message = parse_error(c.bytes);
    CAPTURE(what);
    CAPTURE(message);
    CHECK(message.find(c.expected) != std::string::npos);
    CHECK(message.find("test.gguf") == 0);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("truncation at any offset is an error - never a crash") {
  const std::vector<uint8_t> full = valid_file().bytes;
  int checked = 0;
  for (size_t cut = 0; cut < full.size(); ++cut) {
    std::vector<uint8_t> bytes(full.begin(), full.begin() + static_cast<long>(cut));
    CAPTURE(cut);
    CHECK(!parse_error(bytes).empty());
    ++checked;
  }
  CHECK(checked >= 20);
}
