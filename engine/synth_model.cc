#include "engine/synth_model.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "base/error.h"
#include "base/splitmix.h"
#include "engine/tensor_inventory.h"
#include "gguf/writer.h"
#include "simd/formats.h"
#include "simd/quantize.h"

namespace dsv4::engine {
namespace {

uint64_t name_key(const std::string& name, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char ch : name) h = (h ^ ch) * 0x100000001b3ull;
  return h ^ (seed * 0x9E3779B97F4A7C15ull);
}

// Approximately standard normal: a scaled Irwin–Hall sum of four 16-bit uniforms.
float normal(uint64_t key, uint64_t index) {
  const uint64_t h = splitmix64(key + index * 0xD1B54A32D192ED03ull);
  const double s =
      static_cast<double>((h & 0xFFFF) + ((h >> 16) & 0xFFFF) + ((h >> 32) & 0xFFFF) + (h >> 48));
  return static_cast<float>(((s + 2.0) / 65536.0 - 2.0) * 1.7320508075688772);
}

constexpr size_t kChunkFloats = size_t{4} << 20;

}  // namespace

ModelConfig synthetic_config(const std::string& preset, int layers, int experts, int vocab) {
  ModelConfig c = ModelConfig::flash();
  if (preset == "tiny") {
    c.n_layers = 6;
    c.hidden = 256;
    c.vocab = 4096;
    c.n_heads = 4;
    c.head_dim = 128;
    c.q_lora_rank = 128;
    c.o_lora_rank = 128;
    c.o_groups = 2;
    c.n_experts = 16;
    c.expert_ffn = 256;
    c.n_hash_layers = 2;
    c.indexer_heads = 16;
    c.indexer_topk = 64;
  } else if (preset != "flash") {
    fail_usage("unknown preset '", preset, "' (tiny or flash)");
  }
  if (layers > 0) c.n_layers = layers;
  if (experts > 0) c.n_experts = experts;
  if (vocab > 0) c.vocab = vocab;
  c.n_experts_used = std::min(c.n_experts_used, c.n_experts);
  c.n_hash_layers = std::min(c.n_hash_layers, c.n_layers);
  // DeepSeek V4 Flash's layer pattern: two window-only layers, then ratio 4 and 128 alternating.
  c.compress_ratios.resize(static_cast<size_t>(c.n_layers));
  for (int l = 0; l < c.n_layers; ++l)
    c.compress_ratios[static_cast<size_t>(l)] = l < 2 ? 0 : (l % 2 == 0 ? 4 : 128);
  c.swiglu_clamp.assign(static_cast<size_t>(c.n_layers), 10.0f);
  c.swiglu_clamp_shared = c.swiglu_clamp;
  c.validate();
  return c;
}

SynthReport write_synthetic_model(const std::string& path, const SynthOptions& options) {
  const ModelConfig& c = options.config;
  c.validate();
  SynthReport report;
  gguf::GgufWriter writer(path);
  c.write_gguf(writer);
  writer.add_metadata("general.name", gguf::Value::of_string("DeepSeek V4 (synthetic, seed " +
                                                             std::to_string(options.seed) + ")"));
  writer.add_metadata("general.quantization_version", gguf::Value::of_u32(2));
  if (options.write_extra_metadata) options.write_extra_metadata(writer);

  const std::vector<TensorSpec> specs = tensor_inventory(c);
  std::vector<simd::TensorType> types;
  for (const TensorSpec& spec : specs) {
    std::string note;
    types.push_back(storage_type(spec, options.dense_type, options.expert_type, &note));
    if (!note.empty()) report.notes.push_back(note);
    writer.add_tensor(spec.name, spec.dims, types.back());
  }
  writer.write_header();
  uint64_t total = 0, done = 0;
  for (size_t i = 0; i < specs.size(); ++i) total += writer.tensor_size(i);

  tbb::enumerable_thread_specific<std::vector<float>> scratch;
  std::vector<uint8_t> encoded;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    const simd::TensorType type = types[i];
    const uint64_t key = name_key(spec.name, options.seed);
    const int64_t rows = spec.rows(), cols = spec.cols();
    if (spec.role == TensorRole::kHashTable) {
      // Each token gets distinct experts: a partial Fisher–Yates shuffle seeded per token.
      const int64_t k = cols;
      encoded.resize(static_cast<size_t>(rows * k) * 4);
      std::vector<int32_t> ids(static_cast<size_t>(c.n_experts));
      for (int64_t t = 0; t < rows; ++t) {
        std::iota(ids.begin(), ids.end(), 0);
        for (int64_t j = 0; j < k; ++j) {
          const uint64_t pick =
              j + splitmix64(key + static_cast<uint64_t>(t * k + j)) % (c.n_experts - j);
          std::swap(ids[static_cast<size_t>(j)], ids[static_cast<size_t>(pick)]);
        }
        std::memcpy(encoded.data() + t * k * 4, ids.data(), static_cast<size_t>(k) * 4);
      }
      writer.write_tensor_data(encoded.data(), encoded.size());
    } else {
      const size_t row_bytes = simd::row_bytes(type, cols);
      const int64_t chunk_rows = std::max<int64_t>(1, static_cast<int64_t>(kChunkFloats) / cols);
      encoded.resize(static_cast<size_t>(std::min(chunk_rows, rows)) * row_bytes);
      for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
        const int64_t n = std::min(chunk_rows, rows - r0);
        tbb::parallel_for(
            tbb::blocked_range<int64_t>(0, n, 4), [&](const tbb::blocked_range<int64_t>& range) {
              std::vector<float>& values = scratch.local();
              values.resize(static_cast<size_t>(cols));
              for (int64_t r = range.begin(); r < range.end(); ++r) {
                const uint64_t base = static_cast<uint64_t>(r0 + r) * static_cast<uint64_t>(cols);
                for (int64_t j = 0; j < cols; ++j)
                  values[static_cast<size_t>(j)] =
                      spec.init_mean + spec.init_std * normal(key, base + static_cast<uint64_t>(j));
                simd::quantize_row(type, values.data(), cols,
                                   encoded.data() + static_cast<size_t>(r) * row_bytes);
              }
            });
        writer.write_tensor_data(encoded.data(), static_cast<size_t>(n) * row_bytes);
        if (options.progress)
          options.progress(done + static_cast<uint64_t>(r0 + n) * row_bytes, total);
      }
    }
    done += writer.tensor_size(i);
    report.bytes += writer.tensor_size(i);
  }
  writer.finish();
  report.tensors = specs.size();
  return report;
}

}  // namespace dsv4::engine
