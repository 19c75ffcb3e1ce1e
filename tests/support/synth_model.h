// A tiny random-weight model made with `dsv4 synth`, cached in the build tree: always
// available (no test data needed), and fast enough to generate hundreds of tokens a second.
#pragma once

#include <string>

namespace dsv4::testing {

// Path of the model with a vocabulary of `vocab` tokens (small vocabularies have few
// placeholder tokens, so generated text is mostly ordinary bytes and words).
std::string synthetic_model(int vocab = 512);

}  // namespace dsv4::testing
