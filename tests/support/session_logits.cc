#include "tests/support/session_logits.h"

#include "engine/runtime.h"

namespace dsv4::testing {

std::vector<float> all_logits(const engine::Model& model, const std::vector<int32_t>& tokens,
                              engine::Precision precision, int64_t chunk,
                              engine::Session::LayerObserver observer) {
  engine::SessionOptions options;
  options.context = static_cast<int64_t>(tokens.size());
  options.chunk = chunk;
  options.precision = precision;
  engine::Runtime runtime(2);
  std::vector<float> logits(tokens.size() * static_cast<size_t>(model.config().vocab));
  runtime.run([&] {
    engine::Session session(model, options);
    if (observer) session.set_layer_observer(observer);
    session.evaluate(tokens, logits.data());
  });
  return logits;
}

}  // namespace dsv4::testing
