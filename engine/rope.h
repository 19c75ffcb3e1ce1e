// Rotary position embedding angles for one layer class. Window-only layers rotate with
// base 10000 and no scaling; compressed layers (and everything inside them: queries, keys,
// compressed rows, indexer queries and keys) use base 160000 with YaRN frequency
// interpolation (factor 16 beyond a ramp between the β_fast and β_slow correction dims) and
// no magnitude scaling, as DeepSeek's reference does.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model_config.h"

namespace dsv4::engine {

class RopeTable {
 public:
  RopeTable() = default;
  // `yarn`: compressed-layer parameters; otherwise plain RoPE with `config.rope_base`.
  RopeTable(const ModelConfig& config, bool yarn);

  int pairs() const { return static_cast<int>(frequencies_.size()); }
  // cos/sin of position `pos` for every pair; angles are computed in double.
  void angles(int64_t pos, float* cos, float* sin) const;
  // Rotates the last 2·pairs() entries of `x` (one head) for position `pos`.
  void rotate(float* head_tail, int64_t pos, bool inverse = false) const;
  // The same for `heads` heads `head_stride` floats apart, computing the angles once.
  void rotate_heads(float* head_tail, int heads, int64_t head_stride, int64_t pos,
                    bool inverse = false) const;

 private:
  std::vector<double> frequencies_;
};

}  // namespace dsv4::engine
