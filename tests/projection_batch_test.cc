// Single-token product batches (engine/projection.h): one parallel loop over the rows of many
// matrices must give every product exactly what it gives alone, whatever the formats, shapes
// and thread count.
#include <doctest/doctest.h>

#include <tbb/task_arena.h>

#include <cstring>
#include <random>
#include <vector>

#include "engine/projection.h"
#include "simd/quantize.h"

using namespace dsv4;
using simd::TensorType;

namespace {

struct Weights {
  std::vector<uint8_t> bytes;
  simd::MatrixView view;
};

Weights random_weights(TensorType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 0.5f);
  const size_t stride = simd::row_bytes(type, cols);
  Weights w;
  w.bytes.resize(stride * static_cast<size_t>(rows));
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : row) v = normal(rng);
    simd::quantize_row(type, row.data(), cols, w.bytes.data() + static_cast<size_t>(r) * stride);
  }
  w.view = simd::make_matrix(type, w.bytes.data(), rows, cols);
  return w;
}

std::vector<float> random_vector(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = normal(rng);
  return v;
}

}  // namespace

TEST_CASE("a one-token batch equals each product run alone, bit for bit") {
  std::mt19937 rng(11);
  struct Shape {
    TensorType type;
    int64_t rows, cols;
    int input;  // products with the same input share its preparation
  };
  // Row counts that are not multiples of the task grain, a matrix smaller than one grain,
  // and two inputs of different widths, as in the MoE and attention batches.
  const Shape shapes[] = {{TensorType::MXFP4, 300, 256, 0}, {TensorType::Q8_0, 37, 256, 0},
                          {TensorType::BF16, 130, 256, 0},  {TensorType::F32, 5, 256, 0},
                          {TensorType::MXFP4, 1000, 96, 1}, {TensorType::Q8_0, 517, 96, 1}};
  const int64_t widths[] = {256, 96};
  std::vector<Weights> weights;
  for (const Shape& s : shapes) weights.push_back(random_weights(s.type, s.rows, s.cols, rng));

  std::vector<std::vector<float>> x;
  std::vector<std::vector<int16_t>> q;
  std::vector<std::vector<float>> q_scale;
  std::vector<simd::PreparedInput> inputs;
  for (int64_t width : widths) {
    x.push_back(random_vector(width, rng));
    q.emplace_back(static_cast<size_t>(width));
    q_scale.emplace_back(static_cast<size_t>(width / 32));
    inputs.push_back(engine::prepare_one_token(x.back().data(), width, /*quantize=*/true,
                                               q.back().data(), q_scale.back().data()));
  }

  std::vector<std::vector<float>> alone, batched;
  std::vector<engine::OneTokenProduct> batch;
  for (size_t i = 0; i < weights.size(); ++i) {
    const simd::MatrixView& w = weights[i].view;
    alone.emplace_back(static_cast<size_t>(w.rows));
    batched.emplace_back(static_cast<size_t>(w.rows), -1.0f);
    simd::matvec_fast(w, inputs[static_cast<size_t>(shapes[i].input)], alone.back().data(), 0,
                      w.rows);
    batch.push_back({w, inputs[static_cast<size_t>(shapes[i].input)], batched.back().data()});
  }

  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    for (auto& y : batched) std::fill(y.begin(), y.end(), -1.0f);
    tbb::task_arena arena(threads);
    arena.execute([&] { engine::project_one_token_batch(batch.data(), batch.size()); });
    for (size_t i = 0; i < weights.size(); ++i) {
      CAPTURE(i);
      CHECK(std::memcmp(alone[i].data(), batched[i].data(), alone[i].size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("inputs are quantized only for the formats whose kernels read int16") {
  CHECK(engine::reads_int16_input(TensorType::Q8_0));
  CHECK(engine::reads_int16_input(TensorType::MXFP4));
  CHECK_FALSE(engine::reads_int16_input(TensorType::BF16));
  CHECK_FALSE(engine::reads_int16_input(TensorType::F32));
  std::vector<float> x(64, 1.0f);
  const simd::PreparedInput in = engine::prepare_one_token(x.data(), 64, false, nullptr, nullptr);
  CHECK(in.x == x.data());
  CHECK(in.q == nullptr);
  CHECK(in.cols == 64);
}
