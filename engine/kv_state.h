// The per-layer attention state of a session (MODEL.md §6.1): a ring of the last `window`
// raw KV rows; for compressed layers the compressed rows and the compressor's frontier (the
// partial window being pooled); for ratio-4 layers also the indexer's compressed rows and
// frontier. Sized for the session's context when created.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/index_keys.h"
#include "engine/model_config.h"
#include "engine/row_store.h"

namespace dsv4::engine {

// Scores and values of the tokens of the window being pooled. Ratio-4 compressors keep the
// previous window's first lane too, because each compressed row pools two windows.
struct CompressorFrontier {
  int ratio = 0;
  int lanes = 1;                           // 2 for overlapping (ratio-4) pooling
  int width = 0;                           // output width (head dim or indexer dim)
  std::vector<float> kv, score;            // current window: ratio × (lanes·width)
  std::vector<float> prev_kv, prev_score;  // previous window, lane A: ratio × width (lanes == 2)

  void init(int ratio, int lanes, int width);
  void reset();
  uint64_t bytes() const;
};

struct LayerState {
  RowStore raw;         // ring: row (pos % capacity) holds position pos
  RowStore compressed;  // attention lane, one row per complete window
  CompressorFrontier frontier;
  IndexKeys index_rows;  // indexer lane (ratio-4 layers)
  CompressorFrontier index_frontier;
};

struct KvState {
  std::vector<LayerState> layers;
  int64_t context = 0;

  // `row_type`: F32 for ref; F16 for fast, whose indexer rows are int8 FP4 codes (IndexKeys).
  void init(const ModelConfig& config, int64_t context, simd::TensorType row_type);
  void reset();
  uint64_t bytes() const;
  // Bytes holding state after `tokens` tokens: window rows in use, compressed rows, frontiers.
  uint64_t used_bytes(int64_t tokens) const;

  // Bytes the state needs for `context` tokens (the same formula init() allocates).
  static uint64_t planned_bytes(const ModelConfig& config, int64_t context,
                                simd::TensorType row_type);
};

}  // namespace dsv4::engine
