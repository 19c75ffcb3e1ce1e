// The KV compressor (MODEL.md §5.4): each token contributes a value row and a score row
// (plus a learned per-position bias, APE); when a window of `ratio` tokens completes, the
// values are pooled per dimension with softmax weights over the window's scores, normalised,
// rotated to the window's first position and passed through the quantization-aware
// simulation. Ratio-4 compressors pool overlapping windows: row w takes the first lane of
// window w−1 and the second lane of window w.
#pragma once

#include <cstdint>

#include "engine/kv_state.h"
#include "engine/model_weights.h"
#include "engine/rope.h"

namespace dsv4::engine {

enum class CompressedLane { kAttention, kIndexer };

// Feeds token `pos`'s projections (`kv` and `score`, lanes·width each, APE not yet added).
// Returns true when its window completes, with the compressed row (width floats) in `row`;
// the caller stores it (attention rows in a RowStore, indexer rows in IndexKeys).
bool compressor_step(const CompressorWeights& w, const RopeTable& rope, int rope_dim, float eps,
                     CompressedLane lane, int64_t pos, const float* kv, const float* score,
                     CompressorFrontier& frontier, float* row);

}  // namespace dsv4::engine
