// The KV cache store (apps/kv_cache_store.h): longest-prefix restore with only the suffix
// evaluated, bit for bit; the budget and least-recently-used eviction; bad files skipped and
// removed; readers racing a writer; and `dsv4 run --kv-dir` across processes.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/kv_cache_store.h"
#include "apps/tokenizer_gguf.h"
#include "base/error.h"
#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/session.h"
#include "engine/session_file.h"
#include "render/chat.h"
#include "render/tokenizer.h"
#include "tests/session_helpers.h"
#include "tests/support/process.h"
#include "tests/support/synth_model.h"
#include "tests/support/testdata.h"

using namespace dsv4;
using apps::KvCacheHit;
using apps::KvCacheStore;
using engine::Precision;
using engine::Session;
using engine::SessionOptions;
using engine::SessionSnapshot;
namespace fs = std::filesystem;

namespace {

// A fresh, empty cache directory.
std::string cache_dir(const std::string& name) {
  const std::string dir = testing::scratch_dir() + "/session-cache-" + name;
  fs::remove_all(dir);
  return dir;
}

struct Fixture {
  std::unique_ptr<engine::Model> model = engine::Model::load(testing::synthetic_model());
  engine::Runtime runtime{2};
  SessionOptions options{.context = 1024, .chunk = 16, .precision = Precision::kRef};
  std::vector<int32_t> tokens = testing::spread_tokens(model->config().vocab, 400);

  std::unique_ptr<Session> session(const SessionOptions& o) {
    return runtime.run([&] { return std::make_unique<Session>(*model, o); });
  }
  std::unique_ptr<Session> session() { return session(options); }
  // A session holding `request`'s first `n` tokens.
  std::unique_ptr<Session> holding(std::span<const int32_t> request, size_t n) {
    auto s = session();
    runtime.run([&] { s->evaluate(request.first(n)); });
    return s;
  }
  uint64_t file_bytes(int64_t n) const {
    return engine::session_file_bytes(model->config(), options.context, options.precision, n);
  }
};

size_t cache_files(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) n += entry.path().extension() == ".dsv4kv";
  return n;
}

}  // namespace

TEST_CASE("the longest cached prefix is restored and the suffix continues bit for bit") {
  Fixture f;
  KvCacheStore store(cache_dir("longest"), 64 << 20);
  for (size_t n : {50, 120, 200}) CHECK(store.store(*f.holding(f.tokens, n)));
  CHECK_FALSE(store.store(*f.holding(f.tokens, 120)));  // already cached

  // A request extending the longest prefix: 200 restored, 60 evaluated.
  const std::span<const int32_t> request = std::span(f.tokens).first(260);
  auto session = f.session();
  const KvCacheHit hit = store.restore_longest_prefix(*session, request);
  CHECK(hit.tokens == 200);
  CHECK(hit.refused.empty());
  CHECK(hit.file.ends_with("-200.dsv4kv"));
  auto uninterrupted = f.holding(request, 260);
  f.runtime.run([&] { session->evaluate(request.subspan(200)); });
  CHECK(session->tokens() == uninterrupted->tokens());
  CHECK(testing::first_difference(session->last_logits(), uninterrupted->last_logits()) == -1);

  // A request that leaves the cached tokens after 150 finds the prefix of 120.
  std::vector<int32_t> diverging(f.tokens.begin(), f.tokens.begin() + 300);
  diverging[150] = (diverging[150] + 1) % f.model->config().vocab;
  auto other = f.session();
  CHECK(store.restore_longest_prefix(*other, diverging).tokens == 120);
  CHECK(other->position() == 120);

  // A request of exactly a cached prefix restores all of it (its logits come from the file).
  auto exact = f.session();
  CHECK(store.restore_longest_prefix(*exact, std::span(f.tokens).first(50)).tokens == 50);
  CHECK(testing::first_difference(exact->last_logits(), f.holding(f.tokens, 50)->last_logits()) ==
        -1);

  // Shorter than every cached prefix, or another precision: no match, nothing changes.
  auto bystander = f.holding(f.tokens, 20);
  SessionSnapshot before;
  bystander->save(before);
  CHECK(store.restore_longest_prefix(*bystander, std::span(f.tokens).first(49)).tokens == 0);
  CHECK(testing::same_state(*bystander, before));
  auto fast = f.session({.context = 1024, .chunk = 16, .precision = Precision::kFast});
  const KvCacheHit none = store.restore_longest_prefix(*fast, f.tokens);
  CHECK(none.tokens == 0);
  CHECK(none.refused.empty());
  CHECK(fast->position() == 0);
  CHECK(cache_files(store.dir()) == 3);
}

TEST_CASE("the cache stays within its budget and evicts the least recently used") {
  Fixture f;
  const uint64_t per_file = f.file_bytes(40);  // every state below has 40 + k tokens
  REQUIRE(f.file_bytes(60) - per_file < per_file / 2);
  const uint64_t budget = 3 * per_file + per_file / 2;  // room for three files
  KvCacheStore store(cache_dir("budget"), budget);
  std::vector<std::vector<int32_t>> requests;
  for (int k = 0; k < 12; ++k) {
    std::vector<int32_t> request = testing::spread_tokens(f.model->config().vocab, 40 + k);
    request[0] = k;  // distinct prefixes
    requests.push_back(request);
  }
  const auto stored = [&](int k) {
    auto probe = f.session();
    return store.restore_longest_prefix(*probe, requests[static_cast<size_t>(k)]).tokens > 0;
  };
  for (int k = 0; k < 12; ++k) {
    CHECK(store.store(*f.holding(requests[static_cast<size_t>(k)], requests[k].size())));
    CHECK(store.used_bytes() <= budget);
    CHECK(cache_files(store.dir()) == static_cast<size_t>(std::min(k + 1, 3)));
    if (k == 5) CHECK(stored(3));  // a hit makes file 3 the most recently used
  }
  // Files 9, 10, 11 are the newest; file 3's hit at k = 5 did not save it from later stores.
  for (int k = 0; k < 9; ++k) CHECK_FALSE(stored(k));
  for (int k = 9; k < 12; ++k) CHECK(stored(k));

  // Least recently used, not first stored: after a hit on 9, storing evicts 10.
  CHECK(stored(9));
  CHECK(store.store(*f.holding(requests[0], requests[0].size())));
  CHECK(stored(9));
  CHECK_FALSE(stored(10));
  CHECK(store.used_bytes() <= budget);

  KvCacheStore tiny(cache_dir("tiny-budget"), per_file - 1);
  CHECK_FALSE(tiny.store(*f.holding(requests[0], requests[0].size())));
  CHECK(cache_files(tiny.dir()) == 0);
}

TEST_CASE("a corrupted cache file is removed and the next shorter prefix is used") {
  Fixture f;
  KvCacheStore store(cache_dir("corrupt"), 64 << 20);
  store.store(*f.holding(f.tokens, 50));
  store.store(*f.holding(f.tokens, 120));
  std::string longest;
  for (const auto& entry : fs::directory_iterator(store.dir()))
    if (entry.path().string().ends_with("-120.dsv4kv")) longest = entry.path().string();
  REQUIRE(!longest.empty());
  std::vector<uint8_t> bytes = testing::read_bytes(longest);
  bytes[bytes.size() / 2] ^= 0x10;
  testing::write_bytes(longest, bytes);

  auto session = f.session();
  const KvCacheHit hit = store.restore_longest_prefix(*session, f.tokens);
  CHECK(hit.tokens == 50);
  REQUIRE(hit.refused.size() == 1);
  CHECK(hit.refused[0].find("checksum mismatch") != std::string::npos);
  CHECK_FALSE(fs::exists(longest));
}

TEST_CASE("stale temporary files are removed and fresh ones kept") {
  Fixture f;
  KvCacheStore store(cache_dir("temp"), 64 << 20);
  const std::string stale = store.dir() + "/0123456789abcdef-7.dsv4kv.tmp.99999";
  const std::string fresh = store.dir() + "/0123456789abcdef-8.dsv4kv.tmp.99998";
  testing::write_bytes(stale, std::vector<uint8_t>(10));
  testing::write_bytes(fresh, std::vector<uint8_t>(10));
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(2));
  store.store(*f.holding(f.tokens, 10));
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(fresh));
}

TEST_CASE("readers racing a writer see whole files only") {
  Fixture f;
  // Two files fit: the writer keeps evicting while the readers look up.
  KvCacheStore store(cache_dir("race"), 2 * f.file_bytes(200) + f.file_bytes(200) / 2);
  std::vector<std::unique_ptr<Session>> states;
  for (size_t n : {60, 90, 120, 150, 180, 200}) states.push_back(f.holding(f.tokens, n));
  std::atomic<bool> done = false;
  std::atomic<int> hits = 0, refused = 0, wrong = 0;
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      auto session = f.session();
      while (!done) {
        const KvCacheHit hit = store.restore_longest_prefix(*session, f.tokens);
        hits += hit.tokens > 0;
        refused += static_cast<int>(hit.refused.size());
        if (hit.tokens > 0 &&
            !std::equal(session->tokens().begin(), session->tokens().end(), f.tokens.begin()))
          ++wrong;
      }
    });
  }
  KvCacheStore writer(store.dir(), store.budget_bytes());
  int written = 0;
  for (int round = 0; round < 30; ++round)  // six states, room for two: every store writes
    written += writer.store(*states[static_cast<size_t>(round) % states.size()]);
  CHECK(written == 30);
  done = true;
  for (std::thread& t : readers) t.join();
  MESSAGE("readers restored ", hits.load(), " states while the writer stored 30");
  CHECK(refused == 0);
  CHECK(wrong == 0);
  CHECK(store.used_bytes() <= store.budget_bytes());
}

TEST_CASE("dsv4 run --kv-dir restores a cached prompt prefix in a new process") {
  const std::string model = testing::synthetic_model();
  const std::string dir = cache_dir("run");
  const auto loaded = engine::Model::load(model);
  const render::Tokenizer tokenizer(apps::read_tokenizer_metadata(loaded->file()));
  // A conversation and its continuation: the first prompt's tokens begin the second's.
  nlohmann::ordered_json messages = {
      {{"role", "user"}, {"content", "Tell me a long story about a cache and a prefix."}}};
  const render::ChatOptions chat{.mode = render::ThinkingMode::kChat, .drop_thinking = false};
  const std::string first = render::render_chat(messages, chat);
  messages.push_back({{"role", "assistant"}, {"content", "Once upon a time."}});
  messages.push_back({{"role", "user"}, {"content", "And then?"}});
  const std::string second = render::render_chat(messages, chat);
  const auto first_tokens = tokenizer.encode(first, true);
  const auto second_tokens = tokenizer.encode(second, true);
  REQUIRE(std::equal(first_tokens.begin(), first_tokens.end(), second_tokens.begin()));

  const auto run = [&](const std::string& prompt, bool cached) {
    std::vector<std::string> args = {testing::dsv4_binary(),
                                     "run",
                                     "-m",
                                     model,
                                     "--raw",
                                     "-p",
                                     prompt,
                                     "-n",
                                     "8",
                                     "--temp",
                                     "0",
                                     "--precision",
                                     "ref",
                                     "--json"};
    if (cached) args.insert(args.end(), {"--kv-dir", dir});
    const testing::ProcessResult r = testing::run_process(args);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    return r;
  };
  // "dsv4: kv cache: R of the N prompt tokens restored ..." and "... (P prefilled, ...".
  const auto restored = [](const testing::ProcessResult& r) {
    return std::pair(testing::integer_after(r.err, "kv cache: "),
                     testing::integer_after(r.err, "of the "));
  };
  const auto prefilled = [](const testing::ProcessResult& r) {
    return testing::integer_after(r.err, "prompt tokens (");
  };
  const auto generated = [](const testing::ProcessResult& r) {
    return nlohmann::json::parse(r.out)["tokens"];
  };
  const auto n1 = static_cast<long>(first_tokens.size());
  const auto n2 = static_cast<long>(second_tokens.size());

  const testing::ProcessResult cold = run(first, true);
  CHECK(restored(cold) == std::pair(0l, n1));
  CHECK(prefilled(cold) == n1);
  CHECK(cold.err.find("stored the prompt's " + std::to_string(n1) + " tokens") !=
        std::string::npos);

  const testing::ProcessResult longer = run(second, true);
  CAPTURE(longer.err);
  CHECK(restored(longer) == std::pair(n1, n2));
  CHECK(prefilled(longer) == n2 - n1);
  CHECK(generated(longer) == generated(run(second, false)));

  const testing::ProcessResult again = run(first, true);
  CHECK(restored(again) == std::pair(n1, n1));
  CHECK(prefilled(again) == 0);
  CHECK(generated(again) == generated(cold));
}
