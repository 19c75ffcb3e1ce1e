#include "apps/common_options.h"

#include "simd/targets.h"

namespace dsv4::apps {

void ComputeOptions::add_to(CLI::App& app, bool with_context) {
  app.add_option("--threads,-t", threads, "worker threads (default: one per physical core)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--precision", precision,
                 "ref: f32 activations and caches, exact weights; fast: the default")
      ->check(CLI::IsMember({"ref", "fast"}));
  if (with_context)
    app.add_option("--ctx,-c", context, "context size in tokens")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  app.add_option("--chunk", chunk, "tokens per prefill step")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  app.add_option("--target", target,
                 "SIMD target to run on, e.g. AVX2 to reproduce an AVX2 machine's results "
                 "(default: DSV4_TARGET, else the best one; dsv4 --version lists them)");
  app.add_flag("--mmap", mmap,
               "compute from the model file's mapping instead of copying the weights into huge "
               "pages: starts at once and shares the page cache; prefill is ~15% slower");
}

void ComputeOptions::pin_target() const {
  if (target.empty())
    simd::pin_target_from_environment();
  else
    simd::pin_target(target);
}

engine::Precision ComputeOptions::parsed_precision() const {
  return precision == "ref" ? engine::Precision::kRef : engine::Precision::kFast;
}

engine::SessionOptions ComputeOptions::session_options() const {
  engine::SessionOptions o;
  o.context = context;
  o.chunk = chunk;
  o.precision = parsed_precision();
  return o;
}

}  // namespace dsv4::apps

namespace dsv4::apps {

engine::WeightMemory ComputeOptions::weight_memory() const {
  return mmap ? engine::WeightMemory::kFileMapping : engine::WeightMemory::kHugePages;
}

}  // namespace dsv4::apps
