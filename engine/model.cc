#include "engine/model.h"

#include <chrono>
#include <cstdio>

#include "base/error.h"
#include "base/huge_pages.h"
#include "base/system.h"

namespace dsv4::engine {

std::unique_ptr<Model> Model::load(const std::string& path, WeightMemory memory) {
  std::unique_ptr<Model> model(new Model(gguf::GgufFile::open(path)));
  const ModelConfig config = ModelConfig::from_gguf(model->file_);
  model->place_weights(memory);
  model->weights_ = ModelWeights::bind(model->file_, config);
  model->rope_window_ = RopeTable(config, false);
  model->rope_compressed_ = RopeTable(config, true);
  return model;
}

void Model::place_weights(WeightMemory memory) {
  if (memory == WeightMemory::kFileMapping) {
    weight_memory_note_ = "weights read from the file mapping (--mmap)";
    return;
  }
  if (!transparent_huge_pages_enabled()) {
    weight_memory_note_ =
        "weights read from the file mapping: transparent huge pages are off in this kernel";
    return;
  }
  // The copy is anonymous memory: it must fit beside everything else, with room to spare
  // (the page cache holding the file is counted as available, and is given back).
  const uint64_t bytes = file_.data_bytes();
  const uint64_t available = available_memory_bytes();
  constexpr uint64_t kHeadroom = uint64_t{1} << 30;
  if (available != 0 && bytes + kHeadroom > available) {
    char note[160];
    std::snprintf(note, sizeof note,
                  "weights read from the file mapping: a %.2f GiB copy does not fit in the "
                  "%.2f GiB available",
                  static_cast<double>(bytes) / (1 << 30),
                  static_cast<double>(available) / (1 << 30));
    weight_memory_note_ = note;
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  HugePageBuffer copy;
  try {
    copy = HugePageBuffer(bytes);
  } catch (const Error& e) {
    weight_memory_note_ = std::string("weights read from the file mapping: ") + e.what();
    return;
  }
  file_.copy_data_into(std::move(copy));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char note[96];
  std::snprintf(note, sizeof note, "weights in huge pages (copied in %.1f s)", seconds);
  weight_memory_note_ = note;
}

uint64_t Model::weight_bytes_per_token() const {
  const ModelConfig& c = config();
  uint64_t total = 0;
  for (const gguf::TensorInfo& t : file_.tensors()) {
    if (t.name == "token_embd.weight" || t.name.ends_with("ffn_gate_tid2eid.weight")) {
      total += t.size_bytes / static_cast<uint64_t>(c.vocab);
    } else if (t.name.ends_with("_exps.weight")) {
      total += t.size_bytes / static_cast<uint64_t>(c.n_experts) *
               static_cast<uint64_t>(c.n_experts_used);
    } else {
      total += t.size_bytes;
    }
  }
  return total;
}

}  // namespace dsv4::engine
