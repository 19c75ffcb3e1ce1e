#include "engine/checkpoint_convert.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/shape.h"
#include "engine/hf_config.h"
#include "engine/model_weights.h"
#include "engine/tensor_inventory.h"
#include "gguf/safetensors.h"
#include "gguf/writer.h"
#include "simd/half.h"
#include "simd/quantize.h"

namespace dsv4::engine {
namespace {

using gguf::SafeDType;
using gguf::SafeTensor;
using simd::TensorType;

constexpr size_t kChunkFloats = size_t{4} << 20;  // rows decoded per step: ~16 MB of f32

// Reads rows of a release tensor as exact f32 values.
class ReleaseMatrix {
 public:
  ReleaseMatrix(const SafeTensor& t, const SafeTensor* scale, int64_t cols)
      : t_(t), scale_(scale), cols_(cols) {}

  void read(int64_t r0, int64_t n, float* out) const {
    for (int64_t r = r0; r < r0 + n; ++r) read_row(r, out + (r - r0) * cols_);
  }

  void release() const {
    release_mapped_pages(t_.data, t_.size_bytes);
    if (scale_) release_mapped_pages(scale_->data, scale_->size_bytes);
  }

 private:
  void read_row(int64_t r, float* out) const {
    const uint8_t* row = t_.data + static_cast<size_t>(r) * cols_ * gguf::safe_dtype_size(t_.dtype);
    switch (t_.dtype) {
      case SafeDType::F32:
        std::memcpy(out, row, static_cast<size_t>(cols_) * 4);
        break;
      case SafeDType::BF16:
      case SafeDType::F16:
        for (int64_t c = 0; c < cols_; ++c) {
          uint16_t h;
          std::memcpy(&h, row + 2 * c, 2);
          out[c] = t_.dtype == SafeDType::BF16 ? simd::bf16_to_f32(h) : simd::f16_to_f32(h);
        }
        break;
      case SafeDType::F8_E4M3: {
        const int64_t scale_cols = scale_->shape[1];
        const uint8_t* scales = scale_->data + static_cast<size_t>(r / 128) * scale_cols;
        for (int64_t c = 0; c < cols_; ++c) {
          if ((row[c] & 0x7F) == 0x7F)
            fail(t_.file, ": tensor '", t_.name, "' has an FP8 NaN at row ", r, " column ", c);
          const float s = simd::e8m0_to_f32(scales[c / 128]);
          if (std::isnan(s))
            fail(t_.file, ": tensor '", t_.name, "' has a NaN E8M0 scale for row ", r);
          out[c] = fp8_table()[row[c]] * s;
        }
        break;
      }
      default:
        fail(t_.file, ": tensor '", t_.name, "' has dtype ", gguf::safe_dtype_name(t_.dtype),
             " where a float was expected");
    }
  }

  static const std::array<float, 256>& fp8_table() {
    static const std::array<float, 256> table = [] {
      std::array<float, 256> t{};
      for (int i = 0; i < 256; ++i)
        t[static_cast<size_t>(i)] = simd::fp8_e4m3_to_f32(static_cast<uint8_t>(i));
      return t;
    }();
    return table;
  }

  const SafeTensor& t_;
  const SafeTensor* scale_;
  int64_t cols_;
};

// One routed-expert projection of every expert: packed FP4 [out, in/2] + E8M0 [out, in/32].
struct ExpertSlab {
  const SafeTensor* packed;
  const SafeTensor* scales;
};

struct Job {
  std::string name;           // GGUF tensor name
  std::vector<int64_t> dims;  // GGUF dims (ne0 first)
  TensorType type;
  std::string kind;            // for the report
  int64_t rows = 0, cols = 0;  // as a 2-D matrix (3-D experts: rows = experts · out)
  std::function<void(int64_t r0, int64_t n, float* out)> read;      // exact f32 rows
  std::function<bool(int64_t r0, int64_t n, uint8_t* out)> native;  // lossless direct encoding
  std::function<void()> release;
  uint64_t source_bytes = 0;
};

class JobBuilder {
 public:
  JobBuilder(const gguf::SafeTensorsCheckpoint& ckpt, const ModelConfig& config)
      : ckpt_(ckpt), c_(config) {}

  std::vector<Job> jobs;

  const SafeTensor& tensor(const std::string& name, const std::vector<int64_t>& shape) {
    const SafeTensor& t = ckpt_.get(name);
    if (t.shape != shape)
      fail(ckpt_.directory(), "/", t.file, ": tensor '", name, "' has shape ", t.shape_string(),
           " but config.json implies ", shape_string(shape));
    return t;
  }

  // A float matrix [out, in] written as `type` under `name`.
  void matrix(const std::string& hf, const std::string& name, int64_t out, int64_t in,
              TensorType type, const std::string& kind) {
    const SafeTensor& t = tensor(hf, {out, in});
    const SafeTensor* scale = nullptr;
    if (t.dtype == SafeDType::F8_E4M3) {
      const std::string scale_name =
          hf.substr(0, hf.size() - std::string(".weight").size()) + ".scale";
      scale = &tensor(scale_name, {(out + 127) / 128, (in + 127) / 128});
      if (scale->dtype != SafeDType::F8_E8M0)
        fail(ckpt_.directory(), "/", scale->file, ": tensor '", scale_name, "' has dtype ",
             gguf::safe_dtype_name(scale->dtype), ", expected F8_E8M0");
    }
    add_float_job(t, scale, name, {in, out}, out, in, type, kind);
  }

  // A 1-D float tensor, stored as f32.
  void vector(const std::string& hf, const std::string& name, int64_t n) {
    add_float_job(tensor(hf, {n}), nullptr, name, {n}, 1, n, TensorType::F32, "vector");
  }

  // Compressor APE [ratio, width]: one f32 row per position in the window.
  void rows_f32(const std::string& hf, const std::string& name, int64_t rows, int64_t cols) {
    add_float_job(tensor(hf, {rows, cols}), nullptr, name, {cols, rows}, rows, cols,
                  TensorType::F32, "vector");
  }

  void experts(const std::string& release_pattern, const std::string& name, int64_t out, int64_t in,
               TensorType type) {
    auto slabs = std::make_shared<std::vector<ExpertSlab>>();
    uint64_t bytes = 0;
    for (int e = 0; e < c_.n_experts; ++e) {
      std::string base = release_pattern;
      base.replace(base.find("{e}"), 3, std::to_string(e));
      const SafeTensor& packed = tensor(base + ".weight", {out, in / 2});
      const SafeTensor& scales = tensor(base + ".scale", {out, in / 32});
      if (packed.dtype != SafeDType::I8 && packed.dtype != SafeDType::U8)
        fail(ckpt_.directory(), "/", packed.file, ": tensor '", base, ".weight' has dtype ",
             gguf::safe_dtype_name(packed.dtype), ", expected I8 (packed FP4)");
      if (scales.dtype != SafeDType::F8_E8M0)
        fail(ckpt_.directory(), "/", scales.file, ": tensor '", base, ".scale' has dtype ",
             gguf::safe_dtype_name(scales.dtype), ", expected F8_E8M0");
      slabs->push_back({&packed, &scales});
      bytes += packed.size_bytes + scales.size_bytes;
    }
    Job job{name, {in, out, c_.n_experts}, type, "routed experts", c_.n_experts * out, in};
    auto row_of = [slabs, out, in](int64_t r) {
      const ExpertSlab& s = (*slabs)[static_cast<size_t>(r / out)];
      const int64_t o = r % out;
      return std::make_pair(s.packed->data + o * (in / 2), s.scales->data + o * (in / 32));
    };
    const std::string file = (*slabs)[0].packed->file;
    job.read = [row_of, in, name, file](int64_t r0, int64_t n, float* dst) {
      for (int64_t r = r0; r < r0 + n; ++r) {
        const auto [packed, scales] = row_of(r);
        for (int64_t k = 0; k < in; ++k) {
          const float s = simd::e8m0_to_f32(scales[k / 32]);
          if (std::isnan(s)) fail(file, ": expert weights for '", name, "' have a NaN E8M0 scale");
          dst[(r - r0) * in + k] =
              simd::fp4_e2m1_to_f32((packed[k / 2] >> (4 * (k & 1))) & 0xF) * s;
        }
      }
    };
    if (type == TensorType::MXFP4) {
      job.native = [row_of, in](int64_t r0, int64_t n, uint8_t* dst) {
        const size_t row_bytes = simd::row_bytes(TensorType::MXFP4, in);
        for (int64_t r = r0; r < r0 + n; ++r) {
          const auto [packed, scales] = row_of(r);
          if (!simd::repack_fp4_to_mxfp4(
                  packed, scales, in,
                  reinterpret_cast<simd::BlockMxfp4*>(dst + (r - r0) * row_bytes)))
            return false;
        }
        return true;
      };
    }
    job.release = [slabs] {
      for (const ExpertSlab& s : *slabs) {
        release_mapped_pages(s.packed->data, s.packed->size_bytes);
        release_mapped_pages(s.scales->data, s.scales->size_bytes);
      }
    };
    job.source_bytes = bytes;
    jobs.push_back(std::move(job));
  }

  void hash_table(const std::string& hf, const std::string& name) {
    const SafeTensor& t = tensor(hf, {c_.vocab, c_.n_experts_used});
    if (t.dtype != SafeDType::I64 && t.dtype != SafeDType::I32)
      fail(ckpt_.directory(), "/", t.file, ": tensor '", hf, "' has dtype ",
           gguf::safe_dtype_name(t.dtype), ", expected I64 or I32");
    const int64_t n_experts = c_.n_experts;
    Job job{name,
            {c_.n_experts_used, c_.vocab},
            TensorType::I32,
            "hash routing",
            c_.vocab,
            c_.n_experts_used};
    const SafeTensor* src = &t;
    const std::string dir = ckpt_.directory();
    job.native = [src, n_experts, dir, hf](int64_t r0, int64_t n, uint8_t* dst) {
      const int64_t cols = src->shape[1];
      for (int64_t i = r0 * cols; i < (r0 + n) * cols; ++i) {
        int64_t id;
        if (src->dtype == SafeDType::I64) {
          std::memcpy(&id, src->data + 8 * i, 8);
        } else {
          int32_t v;
          std::memcpy(&v, src->data + 4 * i, 4);
          id = v;
        }
        if (id < 0 || id >= n_experts)
          fail(dir, "/", src->file, ": tensor '", hf, "' element ", i, " = ", id,
               " is not an expert id");
        const auto v32 = static_cast<int32_t>(id);
        std::memcpy(dst + 4 * (i - r0 * cols), &v32, 4);
      }
      return true;
    };
    job.release = [src] { release_mapped_pages(src->data, src->size_bytes); };
    job.source_bytes = t.size_bytes;
    jobs.push_back(std::move(job));
  }

 private:
  void add_float_job(const SafeTensor& t, const SafeTensor* scale, const std::string& name,
                     std::vector<int64_t> dims, int64_t rows, int64_t cols, TensorType type,
                     const std::string& kind) {
    if (t.dtype != SafeDType::F8_E4M3 && t.dtype != SafeDType::BF16 && t.dtype != SafeDType::F16 &&
        t.dtype != SafeDType::F32)
      fail(ckpt_.directory(), "/", t.file, ": tensor '", t.name, "' has dtype ",
           gguf::safe_dtype_name(t.dtype), ", expected F8_E4M3, BF16, F16 or F32");
    if (t.dtype == SafeDType::F8_E4M3 && scale == nullptr)
      fail(ckpt_.directory(), "/", t.file, ": FP8 tensor '", t.name,
           "' is only supported as a 2-D weight");
    auto source = std::make_shared<ReleaseMatrix>(t, scale, cols);
    Job job{name, std::move(dims), type, kind, rows, cols};
    job.read = [source](int64_t r0, int64_t n, float* dst) { source->read(r0, n, dst); };
    job.release = [source] { source->release(); };
    job.source_bytes = t.size_bytes + (scale ? scale->size_bytes : 0);
    jobs.push_back(std::move(job));
  }

  const gguf::SafeTensorsCheckpoint& ckpt_;
  const ModelConfig& c_;
};

std::vector<Job> plan_jobs(const gguf::SafeTensorsCheckpoint& ckpt, const ModelConfig& c,
                           const ConvertOptions& o, ConvertReport& report) {
  JobBuilder b(ckpt, c);
  for (const TensorSpec& spec : tensor_inventory(c)) {
    std::string note;
    const TensorType type = storage_type(spec, o.dense_type, o.expert_type, &note);
    if (!note.empty()) report.notes.push_back(note);
    switch (spec.role) {
      case TensorRole::kEmbedding:
      case TensorRole::kSmallMatrix:
      case TensorRole::kDense:
      case TensorRole::kF32Matrix:
        b.matrix(spec.release_name, spec.name, spec.rows(), spec.cols(), type, spec.kind);
        break;
      case TensorRole::kVector:
        // The router's selection bias is optional in the release layout.
        if (spec.name.ends_with("exp_probs_b.bias") && ckpt.find(spec.release_name) == nullptr)
          break;
        b.vector(spec.release_name, spec.name, spec.cols());
        break;
      case TensorRole::kPositionBias:
        b.rows_f32(spec.release_name, spec.name, spec.rows(), spec.cols());
        break;
      case TensorRole::kExperts:
        b.experts(spec.release_name, spec.name, spec.dims[1], spec.dims[0], type);
        break;
      case TensorRole::kHashTable:
        b.hash_table(spec.release_name, spec.name);
        break;
    }
  }
  return std::move(b.jobs);
}

struct ErrorSums {
  double error_sq = 0, reference_sq = 0;
};

// Encodes rows [r0, r0 + n) of a job into `dst`, accumulating the round-trip error.
void encode_rows(const Job& job, int64_t r0, int64_t n, float* scratch, uint8_t* dst,
                 ErrorSums& sums) {
  const size_t row_bytes = simd::row_bytes(job.type, job.cols);
  job.read(r0, n, scratch);
  std::vector<float> back(static_cast<size_t>(job.cols));
  for (int64_t r = 0; r < n; ++r) {
    const float* src = scratch + r * job.cols;
    uint8_t* out = dst + r * row_bytes;
    simd::quantize_row(job.type, src, job.cols, out);
    simd::decode_row_reference(job.type, out, 0, job.cols, back.data());
    for (int64_t k = 0; k < job.cols; ++k) {
      const double d = static_cast<double>(back[static_cast<size_t>(k)]) - src[k];
      sums.error_sq += d * d;
      sums.reference_sq += static_cast<double>(src[k]) * src[k];
    }
  }
}

}  // namespace

double ConvertedKind::relative_rms_error() const {
  return reference_sq > 0 ? std::sqrt(error_sq / reference_sq) : 0.0;
}

ConvertReport convert_checkpoint(const std::string& checkpoint_dir, const std::string& out_path,
                                 const ConvertOptions& options) {
  ConvertReport report;
  report.config = load_hf_config(checkpoint_dir);
  const gguf::SafeTensorsCheckpoint ckpt = gguf::SafeTensorsCheckpoint::open(checkpoint_dir);
  std::vector<Job> jobs = plan_jobs(ckpt, report.config, options, report);

  gguf::GgufWriter writer(out_path);
  report.config.write_gguf(writer);
  writer.add_metadata("general.name", gguf::Value::of_string("DeepSeek V4"));
  writer.add_metadata("general.quantization_version", gguf::Value::of_u32(2));
  if (options.write_extra_metadata) options.write_extra_metadata(writer);
  for (const Job& job : jobs) writer.add_tensor(job.name, job.dims, job.type);
  writer.write_header();

  uint64_t total = 0, done = 0;
  for (const Job& job : jobs) total += job.source_bytes;
  std::map<std::pair<std::string, TensorType>, ConvertedKind> kinds;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const Job& job = jobs[j];
    const size_t row_bytes = simd::row_bytes(job.type, job.cols);
    const int64_t chunk_rows = std::max<int64_t>(1, static_cast<int64_t>(kChunkFloats) / job.cols);
    std::vector<uint8_t> encoded(static_cast<size_t>(std::min(chunk_rows, job.rows)) * row_bytes);
    tbb::enumerable_thread_specific<ErrorSums> sums;
    tbb::enumerable_thread_specific<std::vector<float>> scratch;
    for (int64_t r0 = 0; r0 < job.rows; r0 += chunk_rows) {
      const int64_t n = std::min(chunk_rows, job.rows - r0);
      if (job.native && job.native(r0, n, encoded.data())) {
        // Lossless re-encoding: nothing to measure.
      } else {
        tbb::parallel_for(
            tbb::blocked_range<int64_t>(0, n, 16), [&](const tbb::blocked_range<int64_t>& range) {
              std::vector<float>& buf = scratch.local();
              buf.resize(static_cast<size_t>(range.size() * job.cols));
              encode_rows(job, r0 + range.begin(), static_cast<int64_t>(range.size()), buf.data(),
                          encoded.data() + static_cast<size_t>(range.begin()) * row_bytes,
                          sums.local());
            });
      }
      writer.write_tensor_data(encoded.data(), static_cast<size_t>(n) * row_bytes);
      if (options.progress)
        options.progress(done + job.source_bytes * static_cast<uint64_t>(r0 + n) /
                                    static_cast<uint64_t>(job.rows),
                         total);
    }
    if (job.release) job.release();
    done += job.source_bytes;
    ConvertedKind& kind = kinds[{job.kind, job.type}];
    kind.kind = job.kind;
    kind.type = job.type;
    kind.tensors += 1;
    kind.bytes += writer.tensor_size(j);
    for (const ErrorSums& s : sums) {
      kind.error_sq += s.error_sq;
      kind.reference_sq += s.reference_sq;
    }
    report.bytes_written += writer.tensor_size(j);
  }
  writer.finish();
  report.tensors_written = jobs.size();
  for (auto& [key, kind] : kinds) report.kinds.push_back(kind);
  return report;
}

}  // namespace dsv4::engine
