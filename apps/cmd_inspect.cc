// `dsv4 inspect FILE.gguf`: metadata (arrays abbreviated) and the tensor table of any GGUF.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "apps/command.h"
#include "base/huge_pages.h"
#include "engine/memory_plan.h"
#include "engine/model_config.h"
#include "engine/model_weights.h"
#include "engine/tensor_inventory.h"
#include "gguf/reader.h"

namespace dsv4::apps {
namespace {

std::string layer_list(const engine::ModelConfig& c, int ratio) {
  std::string out;
  for (int l = 0; l < c.n_layers; ++l)
    if (c.ratio(l) == ratio) out += (out.empty() ? "" : ",") + std::to_string(l);
  return out;
}

// The DeepSeek V4 view: config, layer classes, bytes per tensor kind, memory at a context.
void print_model_view(const gguf::GgufFile& file, int64_t context) {
  const engine::ModelConfig c = engine::ModelConfig::from_gguf(file);
  const engine::ModelWeights weights = engine::ModelWeights::bind(file, c);
  std::printf("\nmodel: %s\n", c.describe().c_str());
  std::printf("layer classes:\n  %-24s %s\n", "window only:", layer_list(c, 0).c_str());
  std::map<int, bool> ratios;
  for (int r : c.compress_ratios)
    if (r != 0) ratios[r] = true;
  for (const auto& [r, unused] : ratios)
    std::printf("  %-24s %s\n",
                ("ratio " + std::to_string(r) + (r == 4 ? " + indexer:" : ":")).c_str(),
                layer_list(c, r).c_str());
  std::printf("  %-24s layers 0..%d\n", "hash-routed experts:", c.n_hash_layers - 1);

  std::map<std::string, uint64_t> by_kind;
  for (const engine::TensorSpec& spec : engine::tensor_inventory(c, false))
    if (const gguf::TensorInfo* t = file.find_tensor(spec.name))
      by_kind[spec.kind] += t->size_bytes;
  std::printf("bytes by tensor kind:\n");
  for (const auto& [kind, bytes] : by_kind)
    std::printf("  %-18s %12.2f MiB\n", kind.c_str(), bytes / 1048576.0);
  std::printf(
      "weights are not repacked. run, chat, serve, bench and logits copy them into transparent "
      "huge pages at load (%s; --mmap reads them from the file mapping instead)\n",
      transparent_huge_pages_enabled() ? "on in this kernel"
                                       : "off in this kernel, so they stay mapped");

  std::printf("\nmemory (KV and scratch allocated per session, prefill chunk %lld):\n",
              static_cast<long long>(engine::SessionOptions{}.chunk));
  std::printf("  %10s %14s %14s %14s\n", "context", "KV fast (f16)", "KV ref (f32)", "scratch");
  std::vector<int64_t> contexts = {4096, 32768, 131072, 1048576};
  if (context > 0) contexts = {context};
  for (int64_t ctx : contexts) {
    engine::SessionOptions fast, ref;
    fast.context = ref.context = ctx;
    ref.precision = engine::Precision::kRef;
    const auto pf = engine::plan_memory(c, weights.bytes, fast);
    const auto pr = engine::plan_memory(c, weights.bytes, ref);
    std::printf("  %10lld %10.2f GiB %10.2f GiB %10.2f GiB\n", static_cast<long long>(ctx),
                pf.kv_state / 1073741824.0, pr.kv_state / 1073741824.0, pf.scratch / 1073741824.0);
  }
  std::printf("  weights: %.2f GiB\n", weights.bytes / 1073741824.0);
}

}  // namespace

int run_inspect(int argc, char** argv) {
  CLI::App app{"Show the metadata and tensors of a GGUF file", argv[0]};
  std::string path;
  bool show_tensors = true;
  app.add_option("file", path, "GGUF file")->required();
  app.add_flag("!--no-tensors", show_tensors, "omit the tensor table");
  int64_t context = 0;
  app.add_option("--ctx,-c", context,
                 "show the memory plan at this context (default: 4k, 32k, 128k, 1M)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;

  const gguf::GgufFile file = gguf::GgufFile::open(path);
  std::printf(
      "file: %s\nGGUF version %u, %zu metadata keys, %zu tensors, alignment %u, data at byte "
      "%llu\n\n",
      path.c_str(), file.version(), file.metadata().size(), file.tensors().size(), file.alignment(),
      static_cast<unsigned long long>(file.data_offset()));
  std::printf("metadata:\n");
  for (const gguf::KeyValue& kv : file.metadata())
    std::printf("  %-48s %s\n", kv.key.c_str(), kv.value.describe().c_str());

  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // type -> (count, bytes)
  uint64_t total = 0;
  for (const gguf::TensorInfo& t : file.tensors()) {
    auto& entry = by_type[std::string(gguf::type_name(t.type))];
    entry.first += 1;
    entry.second += t.size_bytes;
    total += t.size_bytes;
  }
  if (show_tensors) {
    std::printf("\ntensors:\n");
    for (const gguf::TensorInfo& t : file.tensors())
      std::printf("  %-40s %-8s %-24s %12llu bytes\n", t.name.c_str(),
                  std::string(gguf::type_name(t.type)).c_str(), t.shape_string().c_str(),
                  static_cast<unsigned long long>(t.size_bytes));
  }
  std::printf("\nbytes by type:\n");
  for (const auto& [type, entry] : by_type)
    std::printf("  %-8s %6llu tensors %14llu bytes\n", type.c_str(),
                static_cast<unsigned long long>(entry.first),
                static_cast<unsigned long long>(entry.second));
  std::printf("  total    %6zu tensors %14llu bytes (%.2f GiB)\n", file.tensors().size(),
              static_cast<unsigned long long>(total), static_cast<double>(total) / (1u << 30));
  if (file.get_string_opt("general.architecture").value_or("") == engine::kArchitecture)
    print_model_view(file, context);
  return 0;
}

}  // namespace dsv4::apps
