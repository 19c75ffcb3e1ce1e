#include "tests/session_helpers.h"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "base/splitmix.h"
#include "engine/kv_state.h"
#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/session_file.h"
#include "tests/support/process.h"
#include "tests/support/testdata.h"

namespace dsv4::testing {
namespace {

bool same_rows(const engine::RowStore& a, const engine::RowStore& b) {
  // An empty store may have no buffer: memcmp must not see its null pointer.
  return a.size() == b.size() && a.allocated_bytes() == b.allocated_bytes() &&
         (a.allocated_bytes() == 0 ||
          std::memcmp(a.raw_row(0), b.raw_row(0), a.allocated_bytes()) == 0);
}

bool same_rows(const engine::IndexKeys& a, const engine::IndexKeys& b) {
  if (a.fp4() != b.fp4() || a.size() != b.size() || a.width() != b.width()) return false;
  std::vector<uint8_t> row_a(a.row_bytes()), row_b(b.row_bytes());
  for (int64_t i = 0; i < a.size(); ++i) {
    a.save_row(i, row_a.data());
    b.save_row(i, row_b.data());
    if (row_a != row_b) return false;
  }
  return true;
}

bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  return first_difference(a, b) < 0;
}

bool same_frontier(const engine::CompressorFrontier& a, const engine::CompressorFrontier& b) {
  return same_floats(a.kv, b.kv) && same_floats(a.score, b.score) &&
         same_floats(a.prev_kv, b.prev_kv) && same_floats(a.prev_score, b.prev_score);
}

}  // namespace

std::string synthetic_model_with_seed(int vocab, uint64_t seed) {
  namespace fs = std::filesystem;
  const std::string path = scratch_dir() + "/synth-tiny-v" + std::to_string(vocab) + "-seed" +
                           std::to_string(seed) + ".gguf";
  if (!fs::exists(path) || fs::last_write_time(path) < fs::last_write_time(dsv4_binary())) {
    const std::string temp = path + ".tmp." + std::to_string(getpid());
    const ProcessResult r = run_process({dsv4_binary(), "synth", temp, "--vocab",
                                         std::to_string(vocab), "--seed", std::to_string(seed)});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    fs::rename(temp, path);
  }
  return path;
}

std::vector<int32_t> spread_tokens(int vocab, size_t count) {
  std::vector<int32_t> tokens(count);
  for (size_t i = 0; i < count; ++i)
    tokens[i] = static_cast<int32_t>(splitmix64(i) % static_cast<uint64_t>(vocab));
  return tokens;
}

int64_t first_difference(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<int64_t>(i);
  return -1;
}

bool same_state(const engine::Session& session, const engine::SessionSnapshot& snapshot) {
  if (session.tokens() != snapshot.tokens ||
      first_difference(session.last_logits(), snapshot.last_logits) >= 0)
    return false;
  const engine::KvState& kv = session.kv_state();
  if (kv.context != snapshot.kv.context || kv.layers.size() != snapshot.kv.layers.size())
    return false;
  for (size_t l = 0; l < kv.layers.size(); ++l) {
    const engine::LayerState& a = kv.layers[l];
    const engine::LayerState& b = snapshot.kv.layers[l];
    if (!same_rows(a.raw, b.raw) || !same_rows(a.compressed, b.compressed) ||
        !same_rows(a.index_rows, b.index_rows) || !same_frontier(a.frontier, b.frontier) ||
        !same_frontier(a.index_frontier, b.index_frontier))
      return false;
  }
  return true;
}

void check_bytes_per_token(const std::string& label, const engine::ModelConfig& c,
                           const std::string* model_path) {
  using engine::Precision;
  for (Precision p : {Precision::kRef, Precision::kFast}) {
    const simd::TensorType rows =
        p == Precision::kRef ? simd::TensorType::F32 : simd::TensorType::F16;
    const uint64_t planned = (engine::KvState::planned_bytes(c, 256, rows) -
                              engine::KvState::planned_bytes(c, 128, rows)) /
                             128;
    uint64_t small = engine::session_file_bytes(c, 1024, p, 128);
    uint64_t large = engine::session_file_bytes(c, 1024, p, 256);
    if (model_path != nullptr) {
      const auto model = engine::Model::load(*model_path);
      const std::vector<int32_t> tokens = spread_tokens(c.vocab, 256);
      const std::string path = scratch_dir() + "/session-size.session";
      engine::Runtime runtime(2);
      runtime.run([&] {
        engine::Session s(*model, {.context = 1024, .chunk = 64, .precision = p});
        s.evaluate(std::span(tokens).first(128));
        engine::save_session_file(path, s);
        CHECK(std::filesystem::file_size(path) == small);
        small = std::filesystem::file_size(path);
        s.evaluate(std::span(tokens).subspan(128));
        engine::save_session_file(path, s);
        CHECK(std::filesystem::file_size(path) == large);
        large = std::filesystem::file_size(path);
      });
    }
    const uint64_t per_token = (large - small) / 128;
    MESSAGE(label, " ", std::string(p == Precision::kRef ? "ref (f32 rows)" : "fast (f16 rows)"),
            ": ", per_token, " bytes per token = ", planned, " of KV rows + 4 of token id; ", small,
            " bytes at 128 tokens");
    CHECK((large - small) % 128 == 0);
    CHECK(per_token == planned + 4);
  }
}

long integer_after(std::string_view text, std::string_view marker) {
  for (size_t at = text.find(marker); at != std::string_view::npos;
       at = text.find(marker, at + 1)) {
    const size_t start = at + marker.size();
    size_t end = start;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end > start) return std::stol(std::string(text.substr(start, end - start)));
  }
  return -1;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open ", path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE_MESSAGE(out.good(), "cannot write ", path);
}

}  // namespace dsv4::testing
