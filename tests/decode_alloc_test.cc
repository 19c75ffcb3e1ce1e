// The decode step allocates nothing once warmed up (DESIGN.md §6: "the decode loop allocates
// nothing"): every buffer is sized when the session is created.
#include <doctest/doctest.h>

#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/session.h"
#include "simd/ops.h"
#include "tests/support/alloc_counter.h"
#include "tests/support/process.h"
#include "tests/support/testdata.h"

using namespace dsv4;

TEST_CASE("decode performs zero heap allocations after warm-up") {
  const std::string path = testing::scratch_dir() + "/alloc-tiny.gguf";
  const auto r = testing::run_process({testing::dsv4_binary(), "synth", path, "--preset", "tiny"});
  REQUIRE(r.status == 0);
  const auto model = engine::Model::load(path);
  for (engine::Precision precision : {engine::Precision::kFast, engine::Precision::kRef}) {
    engine::SessionOptions options;
    options.context = 1024;
    options.chunk = 32;
    options.precision = precision;
    engine::Runtime runtime(2);
    uint64_t allocations = 1;
    runtime.run([&] {
      engine::Session session(*model, options);
      std::vector<int32_t> prompt(300);
      for (size_t i = 0; i < prompt.size(); ++i)
        prompt[i] = static_cast<int32_t>(300 + i * 7 % 3000);
      session.evaluate(prompt);
      auto step = [&] {
        const auto logits = session.last_logits();
        const int32_t next =
            static_cast<int32_t>(simd::argmax(logits.data(), static_cast<int64_t>(logits.size())));
        session.evaluate(std::span<const int32_t>(&next, 1));
      };
      for (int i = 0; i < 8; ++i) step();  // warm-up: thread-local and task pools fill here
      // Far enough to cross compressor windows (ratio 4 and 128) and grow the indexer's rows.
      testing::start_counting_allocations();
      for (int i = 0; i < 200; ++i) step();
      allocations = testing::stop_counting_allocations();
    });
    CAPTURE(static_cast<int>(precision));
    CHECK(allocations == 0);
  }
}
