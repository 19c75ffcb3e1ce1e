#include "engine/kv_state.h"

#include <algorithm>
#include <cmath>

namespace dsv4::engine {
namespace {

int64_t raw_capacity(const ModelConfig& c, int64_t context) {
  return std::min<int64_t>(c.window, context);
}

// A token at position p sees floor((p + 1) / ratio) compressed rows.
int64_t compressed_capacity(int ratio, int64_t context) {
  return context / ratio;
}

// Fast sessions keep the indexer's rows as int8 FP4 codes.
bool fp4_index(simd::TensorType row_type) {
  return row_type != simd::TensorType::F32;
}

}  // namespace

void CompressorFrontier::init(int ratio_in, int lanes_in, int width_in) {
  ratio = ratio_in;
  lanes = lanes_in;
  width = width_in;
  kv.assign(static_cast<size_t>(ratio) * lanes * width, 0.0f);
  score.assign(kv.size(), 0.0f);
  if (lanes == 2) {
    prev_kv.assign(static_cast<size_t>(ratio) * width, 0.0f);
    prev_score.assign(prev_kv.size(), 0.0f);
  }
  reset();
}

void CompressorFrontier::reset() {
  std::fill(kv.begin(), kv.end(), 0.0f);
  std::fill(score.begin(), score.end(), -INFINITY);
  std::fill(prev_kv.begin(), prev_kv.end(), 0.0f);
  // Before the first window there is no previous window: its slots take no weight.
  std::fill(prev_score.begin(), prev_score.end(), -INFINITY);
}

uint64_t CompressorFrontier::bytes() const {
  return (kv.size() + score.size() + prev_kv.size() + prev_score.size()) * sizeof(float);
}

void KvState::init(const ModelConfig& c, int64_t ctx, simd::TensorType row_type) {
  context = ctx;
  layers.assign(static_cast<size_t>(c.n_layers), LayerState{});
  for (int l = 0; l < c.n_layers; ++l) {
    LayerState& s = layers[static_cast<size_t>(l)];
    s.raw.init(raw_capacity(c, ctx), c.head_dim, row_type);
    const int ratio = c.ratio(l);
    if (ratio == 0) continue;
    s.compressed.init(compressed_capacity(ratio, ctx), c.head_dim, row_type);
    s.frontier.init(ratio, c.compress_lanes(l), c.head_dim);
    if (c.has_indexer(l)) {
      s.index_rows.init(compressed_capacity(ratio, ctx), c.indexer_dim, fp4_index(row_type));
      s.index_frontier.init(ratio, 2, c.indexer_dim);
    }
  }
}

void KvState::reset() {
  for (LayerState& s : layers) {
    s.raw.clear();
    s.compressed.clear();
    s.index_rows.clear();
    if (s.frontier.ratio) s.frontier.reset();
    if (s.index_frontier.ratio) s.index_frontier.reset();
  }
}

uint64_t KvState::bytes() const {
  uint64_t total = 0;
  for (const LayerState& s : layers)
    total += s.raw.allocated_bytes() + s.compressed.allocated_bytes() +
             s.index_rows.allocated_bytes() + s.frontier.bytes() + s.index_frontier.bytes();
  return total;
}

uint64_t KvState::used_bytes(int64_t tokens) const {
  uint64_t total = 0;
  for (const LayerState& s : layers) {
    total += static_cast<uint64_t>(std::min(tokens, s.raw.capacity())) * s.raw.row_bytes();
    total += static_cast<uint64_t>(s.compressed.size()) * s.compressed.row_bytes();
    total += static_cast<uint64_t>(s.index_rows.size()) * s.index_rows.row_bytes();
    total += s.frontier.bytes() + s.index_frontier.bytes();
  }
  return total;
}

uint64_t KvState::planned_bytes(const ModelConfig& c, int64_t ctx, simd::TensorType row_type) {
  const uint64_t element = row_type == simd::TensorType::F32 ? 4 : 2;
  uint64_t total = 0;
  for (int l = 0; l < c.n_layers; ++l) {
    total += static_cast<uint64_t>(raw_capacity(c, ctx)) * c.head_dim * element;
    const int ratio = c.ratio(l);
    if (ratio == 0) continue;
    const uint64_t lanes = static_cast<uint64_t>(c.compress_lanes(l));
    total += static_cast<uint64_t>(compressed_capacity(ratio, ctx)) * c.head_dim * element;
    total += 2 * ratio * lanes * c.head_dim * 4 + (lanes == 2 ? 2 * ratio * c.head_dim * 4 : 0);
    if (c.has_indexer(l)) {
      total += IndexKeys::planned_bytes(compressed_capacity(ratio, ctx), c.indexer_dim,
                                        fp4_index(row_type));
      total += 2 * ratio * 2 * c.indexer_dim * 4 + 2 * ratio * c.indexer_dim * 4;
    }
  }
  return total;
}

}  // namespace dsv4::engine
