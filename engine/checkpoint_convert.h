// `dsv4 convert`: DeepSeek's release checkpoint (sharded safetensors with FP8 E4M3 + E8M0
// 128×128 dense weights, packed FP4 + E8M0 per-32 routed experts, BF16/F32 small tensors)
// → a GGUF with llama.cpp/ds4 names and keys. Streams tensor by tensor in bounded memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/model_config.h"
#include "gguf/metadata.h"
#include "simd/formats.h"

namespace dsv4::gguf {
class GgufWriter;
}

namespace dsv4::engine {

struct ConvertOptions {
  simd::TensorType expert_type = simd::TensorType::MXFP4;  // mxfp4 is a lossless repack of FP4
  simd::TensorType dense_type = simd::TensorType::Q8_0;    // bf16 is lossless for FP8 × E8M0
  // Adds metadata beyond the model's own keys (e.g. the tokenizer) to the output file.
  std::function<void(gguf::GgufWriter&)> write_extra_metadata;
  std::function<void(uint64_t done_bytes, uint64_t total_bytes)> progress;
};

// Per tensor kind and output type: how many tensors, bytes written, and the relative RMS
// error of the written values against the release values (0 when lossless).
struct ConvertedKind {
  std::string kind;
  simd::TensorType type;
  uint64_t tensors = 0;
  uint64_t bytes = 0;
  double error_sq = 0;
  double reference_sq = 0;
  double relative_rms_error() const;
};

struct ConvertReport {
  ModelConfig config;
  std::vector<ConvertedKind> kinds;
  std::vector<std::string> notes;  // fallbacks taken, e.g. a K-quant on a row not a multiple of 256
  uint64_t bytes_written = 0;
  uint64_t tensors_written = 0;
};

// Throws naming the checkpoint file and tensor at fault: a missing shard or tensor, a wrong
// dtype or shape, a config.json that contradicts the tensors, NaN codes in the weights.
ConvertReport convert_checkpoint(const std::string& checkpoint_dir, const std::string& out_path,
                                 const ConvertOptions& options);

}  // namespace dsv4::engine
