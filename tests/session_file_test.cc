// Session state files: a state saved by another process continues bit for bit; corrupted,
// truncated, forged and foreign files are refused with one line naming the file and leave the
// session as it was; the file size follows the KV formula.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/hash64.h"
#include "base/npy.h"
#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/session.h"
#include "engine/session_file.h"
#include "tests/session_helpers.h"
#include "tests/support/models.h"
#include "tests/support/process.h"
#include "tests/support/synth_model.h"
#include "tests/support/testdata.h"

using namespace dsv4;
using engine::Precision;
using engine::Session;
using engine::SessionOptions;
using engine::SessionSnapshot;

namespace {

std::string scratch(const std::string& name) {
  return testing::scratch_dir() + "/session-file-" + name;
}

struct Loaded {
  std::unique_ptr<engine::Model> model;
  engine::Runtime runtime{2};

  explicit Loaded(const std::string& path) : model(engine::Model::load(path)) {}

  std::unique_ptr<Session> session(const SessionOptions& options) {
    return runtime.run([&] { return std::make_unique<Session>(*model, options); });
  }
  void evaluate(Session& s, std::span<const int32_t> tokens) {
    runtime.run([&] { s.evaluate(tokens); });
  }
};

// Saves after each count in `counts` (in another process), restores each state here and
// decodes `steps` more tokens: the logits must equal those of one uninterrupted session that
// evaluated the same spans. (Fast prefill chunks and decode steps use different kernels, so
// the uninterrupted session repeats the saving process's calls exactly.)
void check_continuation(const std::string& model_path, const std::vector<int32_t>& tokens,
                        Precision precision, const std::vector<size_t>& counts, size_t steps) {
  const SessionOptions options{.context = 1024, .chunk = 16, .precision = precision};
  const std::string name = precision == Precision::kRef ? "ref" : "fast";
  REQUIRE(tokens.size() >= counts.back() + steps);
  const std::string prefix =
      scratch(std::filesystem::path(model_path).stem().string() + "-" + name);
  {
    std::ofstream out(prefix + ".tokens.txt");
    for (int32_t id : tokens) out << id << '\n';
  }
  std::vector<std::string> args = {SESSION_SAVE_TOOL,      model_path, name, "1024",
                                   prefix + ".tokens.txt", prefix};
  for (size_t n : counts) args.push_back(std::to_string(n));
  const testing::ProcessResult saved = testing::run_process(args);
  REQUIRE_MESSAGE(saved.status == 0, saved.err);

  Loaded m(model_path);
  for (size_t k = 0; k < counts.size(); ++k) {
    const size_t n = counts[k];
    CAPTURE(n);
    auto uninterrupted = m.session(options);
    for (size_t j = 0, done = 0; j <= k; done = counts[j++])
      m.evaluate(*uninterrupted, std::span(tokens).subspan(done, counts[j] - done));
    auto restored = m.session(options);
    engine::load_session_file(prefix + "-" + std::to_string(n) + ".session", *restored);
    REQUIRE(restored->tokens() == uninterrupted->tokens());
    CHECK(testing::first_difference(restored->last_logits(), uninterrupted->last_logits()) == -1);
    for (size_t i = n; i < n + steps; ++i) {
      CAPTURE(i);
      m.evaluate(*uninterrupted, std::span(&tokens[i], 1));
      m.evaluate(*restored, std::span(&tokens[i], 1));
      REQUIRE(testing::first_difference(restored->last_logits(), uninterrupted->last_logits()) ==
              -1);
    }
  }
}

// Counts that cross the ratio-4 and ratio-128 window boundaries and the raw window (128),
// and go past the indexer's top-k (64 compressed rows, i.e. 256 tokens) on the tiny models.
const std::vector<size_t> kCounts = {1, 3, 4, 127, 128, 129, 300, 511};
constexpr size_t kSteps = 16;

// A session of the synthetic model holding `n` tokens.
struct SavedState {
  Loaded m{testing::synthetic_model()};
  SessionOptions options{.context = 1024, .chunk = 16};
  std::vector<int32_t> tokens = testing::spread_tokens(m.model->config().vocab, 600);
  std::string path;
  std::vector<uint8_t> image;

  SavedState(size_t n, const std::string& name, std::string_view metadata = {}) {
    auto s = m.session(options);
    m.evaluate(*s, std::span(tokens).first(n));
    path = scratch(name + ".session");
    engine::save_session_file(path, *s, metadata);
    image = testing::read_bytes(path);
  }
  // A session holding other tokens, which every refused file must leave as it is.
  std::unique_ptr<Session> bystander() {
    auto s = m.session(options);
    m.evaluate(*s, std::span(tokens).subspan(100, 7));
    return s;
  }
};

void reseal(std::vector<uint8_t>& image) {
  const uint64_t sum = hash64(image.data(), image.size() - 8);
  std::memcpy(image.data() + image.size() - 8, &sum, 8);
}

// Loads `image`, which must be refused with one line that names the label and says `why`.
void expect_refused(std::span<const uint8_t> image, Session& session, const SessionSnapshot& before,
                    const std::string& why) {
  std::string message;
  try {
    engine::load_session_image(image, "forged.session", session);
  } catch (const Error& e) {
    message = e.what();
  }
  CAPTURE(message);
  CHECK(message.starts_with("forged.session: "));
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.find(why) != std::string::npos);
  CHECK(testing::same_state(session, before));
}

template <typename T>
void poke(std::vector<uint8_t>& image, size_t offset, T value) {
  std::memcpy(image.data() + offset, &value, sizeof value);
}

}  // namespace

TEST_CASE("synthetic model states restored by another process continue bit for bit") {
  const std::string path = testing::synthetic_model();
  const auto tokens = testing::spread_tokens(512, kCounts.back() + kSteps);
  check_continuation(path, tokens, Precision::kRef, kCounts, kSteps);
  check_continuation(path, tokens, Precision::kFast, kCounts, kSteps);
}

TEST_CASE("tiny-a states restored by another process continue bit for bit") {
  const auto path = testing::converted_tiny_a("mxfp4", "bf16");
  if (!path) return;
  const auto tokens = read_npy_tokens(*testing::testdata_dir() + "/tiny-a/prompt_tokens.npy");
  check_continuation(*path, tokens, Precision::kRef, kCounts, kSteps);
  check_continuation(*path, tokens, Precision::kFast, kCounts, kSteps);
}

TEST_CASE("metadata round-trips and the check can refuse a file") {
  SavedState saved(40, "metadata", "{\"messages\": []}");
  auto target = saved.bystander();
  SessionSnapshot before;
  target->save(before);
  const auto refuse = [](std::string_view, const SessionSnapshot&) { fail("not wanted"); };
  CHECK_THROWS_WITH_AS(engine::load_session_file(saved.path, *target, refuse), "not wanted", Error);
  CHECK(testing::same_state(*target, before));

  size_t seen_tokens = 0;
  const std::string metadata = engine::load_session_file(
      saved.path, *target,
      [&](std::string_view, const SessionSnapshot& state) { seen_tokens = state.tokens.size(); });
  CHECK(metadata == "{\"messages\": []}");
  CHECK(seen_tokens == 40);
  CHECK(target->position() == 40);
  CHECK(std::filesystem::file_size(saved.path) ==
        engine::session_file_bytes(saved.m.model->config(), 1024, Precision::kFast, 40, 16));
}

TEST_CASE("every corrupted byte is refused and the session stays as it was") {
  SavedState saved(9, "flip", "{\"note\": \"metadata is covered too\"}");
  auto target = saved.bystander();
  SessionSnapshot before;
  target->save(before);
  std::vector<uint8_t> image = saved.image;
  size_t accepted = 0, multi_line = 0, unlabelled = 0, changed = 0;
  for (size_t i = 0; i < image.size(); ++i) {
    image[i] ^= static_cast<uint8_t>(1u << (i % 8));
    try {
      engine::load_session_image(image, "flipped.session", *target);
      ++accepted;
    } catch (const Error& e) {
      const std::string message = e.what();
      multi_line += message.find('\n') != std::string::npos;
      unlabelled += !message.starts_with("flipped.session: ");
    }
    image[i] = saved.image[i];
    if (i % 4096 == 0) changed += !testing::same_state(*target, before);
  }
  MESSAGE("flipped each of the ", image.size(), " bytes of a session file");
  CHECK(accepted == 0);
  CHECK(multi_line == 0);
  CHECK(unlabelled == 0);
  CHECK(changed == 0);
  CHECK(testing::same_state(*target, before));

  // Through the file itself, for a sample of offsets: the message names the path.
  const std::string path = scratch("flip-on-disk.session");
  for (size_t i = 0; i < image.size(); i += image.size() / 97 + 1) {
    image[i] ^= 0xFF;
    testing::write_bytes(path, image);
    image[i] = saved.image[i];
    CHECK_THROWS_WITH_AS(engine::load_session_file(path, *target),
                         doctest::Contains((path + ": ").c_str()), Error);
  }
  CHECK(testing::same_state(*target, before));
}

TEST_CASE("truncated files are refused and the session stays as it was") {
  SavedState saved(200, "truncate");
  auto target = saved.bystander();
  SessionSnapshot before;
  target->save(before);
  const size_t size = saved.image.size();
  std::set<size_t> offsets = {0, 1, 7, 8, 12, 127, 128, 129, 135, size - 9, size - 8, size - 1};
  for (size_t k = 1; offsets.size() < 50; ++k) offsets.insert(k * size / 41);
  const std::string path = scratch("truncated.session");
  for (size_t offset : offsets) {
    CAPTURE(offset);
    testing::write_bytes(path, std::span(saved.image).first(offset));
    std::string message;
    try {
      engine::load_session_file(path, *target);
    } catch (const Error& e) {
      message = e.what();
    }
    CHECK(message.starts_with(path + ": truncated: "));
    CHECK(message.find('\n') == std::string::npos);
  }
  CHECK(testing::same_state(*target, before));
  testing::write_bytes(path, saved.image);
  engine::load_session_file(path, *target);  // the untruncated file loads
  CHECK(target->position() == 200);
}

TEST_CASE("files of another model precision or window are refused") {
  SavedState saved(50, "foreign");
  const auto refused_by = [&](const std::string& model_path, const SessionOptions& options,
                              const std::string& why) {
    Loaded other(model_path);
    auto target = other.session(options);
    other.evaluate(*target, std::span(saved.tokens).first(5));
    SessionSnapshot before;
    target->save(before);
    CHECK_THROWS_WITH_AS(engine::load_session_file(saved.path, *target),
                         doctest::Contains((saved.path + ": " + why).c_str()), Error);
    CHECK(testing::same_state(*target, before));
  };
  // Same shapes and tensor names, other weights: only the weight sample differs.
  refused_by(testing::synthetic_model_with_seed(512, 2), saved.options,
             "saved with another model: its tensors or weights differ");
  refused_by(testing::synthetic_model(1024), saved.options,
             "saved with another model: vocab 512 in the file, 1024 in");
  if (const auto tiny_a = testing::converted_tiny_a("mxfp4", "bf16"))
    refused_by(*tiny_a, saved.options, "saved with another model: layers 6 in the file, 8 in");
  refused_by(testing::synthetic_model(), {.context = 1024, .precision = Precision::kRef},
             "saved with --precision fast, the session uses ref");
  refused_by(testing::synthetic_model(), {.context = 40},
             "holds 50 tokens, more than the session's context of 40");
  refused_by(testing::synthetic_model(), {.context = 100},
             "saved with a context of 1024 tokens, which keeps 128 window rows; a context of "
             "100 keeps 100");
}

TEST_CASE("a state continues bit for bit in a session with a larger context") {
  SavedState saved(300, "larger-context");
  auto same = saved.m.session(saved.options);
  saved.m.evaluate(*same, std::span(saved.tokens).first(300));
  auto larger = saved.m.session({.context = 2048, .chunk = 16});
  engine::load_session_file(saved.path, *larger);
  for (size_t i = 300; i < 320; ++i) {
    saved.m.evaluate(*same, std::span(&saved.tokens[i], 1));
    saved.m.evaluate(*larger, std::span(&saved.tokens[i], 1));
    REQUIRE(testing::first_difference(same->last_logits(), larger->last_logits()) == -1);
  }
}

TEST_CASE("forged fields with a valid checksum are refused") {
  SavedState saved(130, "forged", "meta");
  auto target = saved.bystander();
  SessionSnapshot before;
  target->save(before);
  const engine::ModelConfig& c = saved.m.model->config();
  const size_t table = 128, metadata = table + 16 * static_cast<size_t>(c.n_layers);
  const size_t tokens = metadata + 4;
  const auto forged = [&](auto change, const std::string& why) {
    std::vector<uint8_t> image = saved.image;
    change(image);
    reseal(image);
    CAPTURE(why);
    expect_refused(image, *target, before, why);
  };
  forged([](auto& im) { im[0] = 'X'; }, "not a dsv4 session file");
  forged([](auto& im) { poke<uint32_t>(im, 8, 3); },
         "format version 3; this build reads version 2");
  // Version 1 kept fast indexer rows as f16.
  forged([](auto& im) { poke<uint32_t>(im, 8, 1); },
         "format version 1; this build reads version 2");
  forged([](auto& im) { poke<uint32_t>(im, 12, 64); }, "header size 64, expected 128");
  forged([](auto& im) { poke<uint64_t>(im, 24, 12345); }, "saved with another model");
  forged([](auto& im) { poke<uint32_t>(im, 32 + 4 * 2, 513); }, "vocab 513 in the file");
  forged([](auto& im) { poke<uint32_t>(im, 88, 2); }, "unknown precision code 2");
  forged([](auto& im) { poke<uint32_t>(im, 92, 0); }, "row type 0 does not match precision fast");
  forged([](auto& im) { poke<uint64_t>(im, 96, 132); },
         "layer 2 is listed with ratio 4 and 128/32/32");
  forged([](auto& im) { poke<uint64_t>(im, 96, 131); }, "its state is");
  forged([](auto& im) { poke<uint64_t>(im, 96, 2000); }, "more than its context of 1024");
  forged([](auto& im) { poke<uint64_t>(im, 104, 5); }, "do not add up to the file size");
  forged([](auto& im) { poke<uint64_t>(im, 112, 1); }, "do not add up to the file size");
  forged([](auto& im) { poke<uint64_t>(im, 120, 1); }, "reserved header bytes are not zero");
  forged([&](auto& im) { poke<uint32_t>(im, table + 16 * 2, 128); },
         "layer 2 is listed with ratio 128");
  forged([&](auto& im) { poke<uint32_t>(im, table + 16 * 3 + 8, 2); },
         "layer 3 is listed with ratio 128 and 128/2/0");
  forged([&](auto& im) { poke<int32_t>(im, tokens + 4 * 17, c.vocab); },
         "token 17 is 512, outside the vocabulary of 512");
  forged([&](auto& im) { poke<int32_t>(im, tokens, -1); }, "token 0 is -1");
  // Layer 2, the first ratio-4 layer, follows the logits and two window-only layers' f16 rows;
  // its indexer rows follow its own window and compressed rows.
  const size_t window_bytes = std::min<size_t>(130, c.window) * c.head_dim * 2;
  const size_t index_rows = tokens + 4 * 130 + 4 * static_cast<size_t>(c.vocab) + 3 * window_bytes +
                            130 / 4 * c.head_dim * 2;
  forged([&](auto& im) { im[index_rows + 1] = 5; },
         "layer 2 indexer row 0 holds a code that is not an FP4 (doubled E2M1) value");
  std::vector<uint8_t> longer = saved.image;
  longer.push_back(0);
  expect_refused(longer, *target, before, "bytes, more than the");
}

TEST_CASE("snapshot bytes per token follow the KV formula") {
  const std::string synth = testing::synthetic_model();
  testing::check_bytes_per_token("synthetic tiny", engine::Model::load(synth)->config(), &synth);
  if (const auto tiny_a = testing::converted_tiny_a("mxfp4", "bf16"))
    testing::check_bytes_per_token("tiny-a", engine::Model::load(*tiny_a)->config(), &*tiny_a);
  const engine::ModelConfig flash = engine::ModelConfig::flash();
  testing::check_bytes_per_token("DeepSeek V4 Flash (43 layers)", flash, nullptr);
  // MODEL.md §6.1: ds4 keeps 13,760 bytes of f32 rows per token for Flash; f16 halves that,
  // except that fast keeps the indexer rows of the 21 ratio-4 layers as FP4 codes: 132 bytes
  // per 4 tokens instead of 256.
  CHECK(engine::session_file_bytes(flash, 1024, Precision::kRef, 256) -
            engine::session_file_bytes(flash, 1024, Precision::kRef, 128) ==
        128 * (13760 + 4));
  CHECK(engine::session_file_bytes(flash, 1024, Precision::kFast, 256) -
            engine::session_file_bytes(flash, 1024, Precision::kFast, 128) ==
        128 * (13760 / 2 - 21 * (256 - 132) / 4 + 4));
}
