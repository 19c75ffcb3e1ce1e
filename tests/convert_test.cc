// `dsv4 convert` and `dsv4 synth`: lossless conversion, every type combination, defects named.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/json_limits.h"
#include "engine/model.h"
#include "engine/model_config.h"
#include "engine/tensor_inventory.h"
#include "gguf/reader.h"
#include "gguf/safetensors.h"
#include "simd/formats.h"
#include "simd/half.h"
#include "tests/support/models.h"
#include "tests/support/process.h"
#include "tests/support/testdata.h"

using namespace dsv4;
namespace fs = std::filesystem;

namespace {

// Release values of one row, decoded independently of the converter.
std::vector<float> release_row(const gguf::SafeTensorsCheckpoint& ckpt, const std::string& name,
                               int64_t row) {
  const gguf::SafeTensor& t = ckpt.get(name);
  const int64_t cols = t.shape.back();
  std::vector<float> out(static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c) {
    const int64_t i = row * cols + c;
    switch (t.dtype) {
      case gguf::SafeDType::F32:
        std::memcpy(&out[c], t.data + 4 * i, 4);
        break;
      case gguf::SafeDType::BF16: {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[c] = simd::bf16_to_f32(h);
        break;
      }
      case gguf::SafeDType::F8_E4M3: {
        const gguf::SafeTensor& s = ckpt.get(name.substr(0, name.size() - 7) + ".scale");
        out[c] = simd::fp8_e4m3_to_f32(t.data[i]) *
                 simd::e8m0_to_f32(s.data[(row / 128) * s.shape[1] + c / 128]);
        break;
      }
      default:
        FAIL("unexpected dtype for ", name);
    }
  }
  return out;
}

std::vector<float> release_expert_row(const gguf::SafeTensorsCheckpoint& ckpt,
                                      const std::string& prefix, int64_t row) {
  const gguf::SafeTensor& packed = ckpt.get(prefix + ".weight");
  const gguf::SafeTensor& scales = ckpt.get(prefix + ".scale");
  const int64_t cols = packed.shape[1] * 2;
  std::vector<float> out(static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c) {
    const uint8_t byte = packed.data[row * packed.shape[1] + c / 2];
    out[c] = simd::fp4_e2m1_to_f32((byte >> (4 * (c & 1))) & 0xF) *
             simd::e8m0_to_f32(scales.data[row * scales.shape[1] + c / 32]);
  }
  return out;
}

std::string copy_checkpoint(const std::string& src, const std::string& name) {
  const fs::path dst = fs::path(testing::scratch_dir()) / name;
  fs::remove_all(dst);
  fs::create_directories(dst);
  for (const auto& entry : fs::directory_iterator(src)) {
    if (entry.path().extension() == ".safetensors") {
      fs::create_symlink(entry.path(), dst / entry.path().filename());
    } else {
      fs::copy_file(entry.path(), dst / entry.path().filename());
    }
  }
  return dst.string();
}

// Rewrites a shard's header in place of its symlink, keeping the byte layout.
void patch_shard_header(const std::string& dir, const std::string& shard, const std::string& from,
                        const std::string& to) {
  const fs::path path = fs::path(dir) / shard;
  const fs::path target = fs::read_symlink(path);
  std::string bytes = testing::read_file(target.string());
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  std::string header = bytes.substr(8, n);
  const size_t at = header.find(from);
  REQUIRE(at != std::string::npos);
  header.replace(at, from.size(), to);
  REQUIRE(header.size() <= n);
  header.append(n - header.size(), ' ');
  bytes.replace(8, n, header);
  fs::remove(path);
  std::ofstream(path, std::ios::binary) << bytes;
}

void expect_convert_error(const std::string& dir, const std::string& expected) {
  const auto r = testing::run_process(
      {testing::dsv4_binary(), "convert", dir, testing::scratch_dir() + "/bad.gguf"});
  CAPTURE(r.err);
  CHECK(r.status == 1);
  CHECK(r.err.rfind("dsv4: error: ", 0) == 0);
  CHECK(r.err.find(expected) != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("mxfp4 + bf16 conversion decodes every weight to the release value") {
  const auto dir = testing::require_testdata("tiny-a");
  const auto path = testing::converted_tiny_a("mxfp4", "bf16");
  if (!dir || !path) return;
  const auto ckpt = gguf::SafeTensorsCheckpoint::open(*dir);
  const gguf::GgufFile file = gguf::GgufFile::open(*path);
  const engine::ModelConfig config = engine::ModelConfig::from_gguf(file);
  size_t tensors = 0, values = 0, mismatches = 0;
  for (const engine::TensorSpec& spec : engine::tensor_inventory(config)) {
    const gguf::TensorInfo* info = file.find_tensor(spec.name);
    REQUIRE_MESSAGE(info != nullptr, spec.name);
    CHECK(info->dims == spec.dims);
    if (spec.role == engine::TensorRole::kHashTable) {
      const gguf::SafeTensor& t = ckpt.get(spec.release_name);
      for (uint64_t i = 0; i < info->elements; ++i) {
        int64_t expected;
        int32_t got;
        std::memcpy(&expected, t.data + 8 * i, 8);
        std::memcpy(&got, file.tensor_data(*info) + 4 * i, 4);
        mismatches += expected != got;
      }
      ++tensors;
      continue;
    }
    const int64_t cols = spec.cols();
    const size_t row_bytes = simd::row_bytes(info->type, cols);
    std::vector<float> got(static_cast<size_t>(cols));
    for (int64_t r = 0; r < spec.rows(); ++r) {
      std::vector<float> expected;
      if (spec.role == engine::TensorRole::kExperts) {
        std::string prefix = spec.release_name;
        prefix.replace(prefix.find("{e}"), 3, std::to_string(r / spec.dims[1]));
        expected = release_expert_row(ckpt, prefix, r % spec.dims[1]);
      } else {
        expected = release_row(ckpt, spec.release_name, spec.dims.size() == 1 ? 0 : r);
      }
      simd::decode_row_reference(info->type, file.tensor_data(*info) + r * row_bytes, 0, cols,
                                 got.data());
      for (int64_t c = 0; c < cols; ++c) mismatches += got[c] != expected[c];
      values += static_cast<size_t>(cols);
    }
    ++tensors;
  }
  MESSAGE(tensors, " tensors, ", values, " values compared");
  CHECK(tensors == file.tensors().size());
  CHECK(mismatches == 0);
}

TEST_CASE("every --experts x --dense combination converts and loads - with errors reported") {
  const auto dir = testing::require_testdata("tiny-a");
  if (!dir) return;
  for (const char* experts : {"mxfp4", "q4_k", "q2_k"}) {
    for (const char* dense : {"q8_0", "bf16", "f16", "f32"}) {
      const std::string label = std::string(experts) + "/" + dense;
      CAPTURE(label);
      const std::string out = testing::scratch_dir() + "/combo.gguf";
      const auto r = testing::run_process(
          {testing::dsv4_binary(), "convert", *dir, out, "--experts", experts, "--dense", dense});
      REQUIRE(r.status == 0);
      CHECK(r.out.find("rel. RMS error") != std::string::npos);
      if (std::string(experts) == "mxfp4")
        CHECK(r.out.find("routed experts     mxfp4") != std::string::npos);
      const auto model = engine::Model::load(out);
      CHECK(model->config().n_layers == 8);
    }
  }
}

TEST_CASE("checkpoint defects are one-line errors naming the culprit") {
  const auto dir = testing::require_testdata("tiny-a");
  if (!dir) return;
  {
    const std::string d = copy_checkpoint(*dir, "bad-missing-shard");
    fs::remove(fs::path(d) / "model-00002-of-00002.safetensors");
    expect_convert_error(d, "model-00002-of-00002.safetensors: shard listed in the index");
  }
  {
    const std::string d = copy_checkpoint(*dir, "bad-config");
    std::string config = testing::read_file((fs::path(d) / "config.json").string());
    config.replace(config.find("\"q_lora_rank\": 128"), 18, "\"q_lora_rank\": 192");
    std::ofstream(fs::path(d) / "config.json") << config;
    expect_convert_error(d,
                         "tensor 'layers.0.attn.wq_a.weight' has shape [128, 256] but config.json "
                         "implies [192, 256]");
  }
  {
    const std::string d = copy_checkpoint(*dir, "bad-dtype");
    patch_shard_header(d, "model-00001-of-00002.safetensors",
                       R"("layers.0.attn.kv_norm.weight":{"dtype":"BF16")",
                       R"("layers.0.attn.kv_norm.weight":{"dtype":"I16")");
    expect_convert_error(d, "tensor 'layers.0.attn.kv_norm.weight' has dtype I16");
  }
  {
    const std::string d = copy_checkpoint(*dir, "bad-shape");
    patch_shard_header(d, "model-00001-of-00002.safetensors",
                       R"("layers.0.attn.wq_a.weight":{"dtype":"F8_E4M3","shape":[128,256])",
                       R"("layers.0.attn.wq_a.weight":{"dtype":"F8_E4M3","shape":[256,128])");
    expect_convert_error(d,
                         "tensor 'layers.0.attn.wq_a.weight' has shape [256, 128] but config.json "
                         "implies [128, 256]");
  }
  {
    const std::string d = copy_checkpoint(*dir, "bad-missing-tensor");
    auto index = parse_json_limited(
        testing::read_file((fs::path(d) / "model.safetensors.index.json").string()), "index");
    index["weight_map"].erase("layers.5.attn.wo_b.scale");
    std::ofstream(fs::path(d) / "model.safetensors.index.json") << index.dump();
    expect_convert_error(d, "'layers.5.attn.wo_b.scale' that the index does not list");
  }
}

TEST_CASE("a GGUF of another architecture is refused by name") {
  const std::string path = testing::scratch_dir() + "/llama.gguf";
  {
    std::ofstream out(path, std::ios::binary);
    const char header[] = "GGUF";
    out.write(header, 4);
    const uint32_t version = 3;
    const uint64_t n_tensors = 0, n_kv = 1, key_len = 20, value_len = 5;
    const uint32_t string_type = 8;
    out.write(reinterpret_cast<const char*>(&version), 4);
    out.write(reinterpret_cast<const char*>(&n_tensors), 8);
    out.write(reinterpret_cast<const char*>(&n_kv), 8);
    out.write(reinterpret_cast<const char*>(&key_len), 8);
    out.write("general.architecture", 20);
    out.write(reinterpret_cast<const char*>(&string_type), 4);
    out.write(reinterpret_cast<const char*>(&value_len), 8);
    out.write("llama", 5);
  }
  CHECK_THROWS_WITH_AS(engine::Model::load(path),
                       doctest::Contains("general.architecture is 'llama', expected 'deepseek4'"),
                       Error);
}

TEST_CASE("written files carry the deepseek4 keys and tensor names llama.cpp and ds4 use") {
  const auto path = testing::converted_tiny_a("mxfp4", "q8_0");
  if (!path) return;
  const gguf::GgufFile f = gguf::GgufFile::open(*path);
  CHECK(f.get_string("general.architecture") == "deepseek4");
  // REFERENCES.md §4 and MODEL.md §2.2.
  for (const char* key : {"deepseek4.block_count",
                          "deepseek4.context_length",
                          "deepseek4.embedding_length",
                          "deepseek4.vocab_size",
                          "deepseek4.attention.head_count",
                          "deepseek4.attention.head_count_kv",
                          "deepseek4.attention.key_length",
                          "deepseek4.attention.value_length",
                          "deepseek4.rope.dimension_count",
                          "deepseek4.attention.q_lora_rank",
                          "deepseek4.attention.output_lora_rank",
                          "deepseek4.attention.output_group_count",
                          "deepseek4.expert_count",
                          "deepseek4.expert_used_count",
                          "deepseek4.expert_feed_forward_length",
                          "deepseek4.expert_shared_count",
                          "deepseek4.hash_layer_count",
                          "deepseek4.expert_gating_func",
                          "deepseek4.attention.sliding_window",
                          "deepseek4.attention.indexer.head_count",
                          "deepseek4.attention.indexer.key_length",
                          "deepseek4.attention.indexer.top_k",
                          "deepseek4.hyper_connection.count",
                          "deepseek4.hyper_connection.sinkhorn_iterations",
                          "deepseek4.hyper_connection.epsilon",
                          "deepseek4.attention.compress_ratios",
                          "deepseek4.attention.compress_rope_freq_base",
                          "deepseek4.swiglu_clamp_exp",
                          "deepseek4.swiglu_clamp_shexp",
                          "deepseek4.rope.freq_base",
                          "deepseek4.rope.scaling.factor",
                          "deepseek4.rope.scaling.original_context_length",
                          "deepseek4.rope.scaling.yarn_beta_fast",
                          "deepseek4.rope.scaling.yarn_beta_slow",
                          "deepseek4.expert_weights_scale",
                          "deepseek4.expert_weights_norm",
                          "deepseek4.attention.layer_norm_rms_epsilon",
                          "tokenizer.ggml.model",
                          "tokenizer.ggml.tokens",
                          "tokenizer.ggml.merges",
                          "tokenizer.ggml.pre"}) {
    CAPTURE(std::string(key));
    CHECK(f.has(key));
  }
  std::set<std::string> names;
  for (const auto& t : f.tensors()) names.insert(t.name);
  for (const char* name : {"token_embd.weight",
                           "output.weight",
                           "output_norm.weight",
                           "output_hc_fn.weight",
                           "output_hc_base.weight",
                           "output_hc_scale.weight",
                           "blk.0.attn_norm.weight",
                           "blk.0.attn_sinks.weight",
                           "blk.0.attn_q_a.weight",
                           "blk.0.attn_q_a_norm.weight",
                           "blk.0.attn_q_b.weight",
                           "blk.0.attn_kv.weight",
                           "blk.0.attn_kv_a_norm.weight",
                           "blk.0.attn_output_a.weight",
                           "blk.0.attn_output_b.weight",
                           "blk.0.hc_attn_fn.weight",
                           "blk.0.hc_attn_base.weight",
                           "blk.0.hc_attn_scale.weight",
                           "blk.0.hc_ffn_fn.weight",
                           "blk.0.ffn_norm.weight",
                           "blk.0.ffn_gate_inp.weight",
                           "blk.0.ffn_gate_tid2eid.weight",
                           "blk.0.ffn_gate_exps.weight",
                           "blk.0.ffn_up_exps.weight",
                           "blk.0.ffn_down_exps.weight",
                           "blk.0.ffn_gate_shexp.weight",
                           "blk.0.ffn_up_shexp.weight",
                           "blk.0.ffn_down_shexp.weight",
                           "blk.2.attn_compressor_kv.weight",
                           "blk.2.attn_compressor_gate.weight",
                           "blk.2.attn_compressor_ape.weight",
                           "blk.2.attn_compressor_norm.weight",
                           "blk.2.indexer.attn_q_b.weight",
                           "blk.2.indexer.proj.weight",
                           "blk.2.indexer_compressor_kv.weight",
                           "blk.2.indexer_compressor_gate.weight",
                           "blk.2.indexer_compressor_ape.weight",
                           "blk.2.indexer_compressor_norm.weight",
                           "blk.3.exp_probs_b.bias",
                           "blk.3.attn_compressor_kv.weight"}) {
    CAPTURE(std::string(name));
    CHECK(names.count(name) == 1);
  }
}

TEST_CASE("synth: the tiny preset takes seconds - the flash preset has Flash's layer shapes") {
  const std::string tiny = testing::scratch_dir() + "/synth-tiny.gguf";
  const auto start = std::chrono::steady_clock::now();
  auto r = testing::run_process({testing::dsv4_binary(), "synth", tiny, "--preset", "tiny"});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(r.status == 0);
  MESSAGE("synth --preset tiny took ", seconds, " s");
  CHECK(seconds < 5.0);
  CHECK(engine::Model::load(tiny)->config().hidden == 256);

  // Flash shapes with few layers/experts and a small vocabulary, so the test stays quick;
  // the benchmark slice (--layers 4 --experts 64) differs only in counts.
  const std::string flash = testing::scratch_dir() + "/synth-flash.gguf";
  r = testing::run_process({testing::dsv4_binary(), "synth", flash, "--preset", "flash", "--layers",
                            "3", "--experts", "8", "--vocab", "4096"});
  REQUIRE(r.status == 0);
  const auto model = engine::Model::load(flash);
  const auto& c = model->config();
  CHECK(c.hidden == 4096);
  CHECK(c.n_heads == 64);
  CHECK(c.head_dim == 512);
  CHECK(c.q_lora_rank == 1024);
  CHECK(c.o_groups == 8);
  CHECK(c.o_lora_rank == 1024);
  CHECK(c.expert_ffn == 2048);
  CHECK(c.indexer_heads == 64);
  CHECK(c.indexer_dim == 128);
  const auto& L = model->weights().layers[2];
  CHECK(L.q_b.rows == 64 * 512);
  CHECK(L.out_a.cols == 8 * 512);
  CHECK(L.indexer_q_b.rows == 64 * 128);
  CHECK(L.gate_exps.rows == 2048);
  fs::remove(flash);
}
