// Test helper: evaluates a token sequence and saves the session after each of the given
// counts, so that the tests restore states made by another process.
//   session_save_tool MODEL ref|fast CONTEXT TOKENS.txt OUT_PREFIX N1 N2 ...
// TOKENS.txt holds token ids separated by white space; the states go to OUT_PREFIX-N.session.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/session.h"
#include "engine/session_file.h"

using namespace dsv4;

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: %s MODEL ref|fast CONTEXT TOKENS.txt OUT_PREFIX N1 [N2 ...]\n",
                 argv[0]);
    return 2;
  }
  try {
    const auto model = engine::Model::load(argv[1]);
    engine::SessionOptions options;
    options.precision =
        std::string(argv[2]) == "ref" ? engine::Precision::kRef : engine::Precision::kFast;
    options.context = std::atoll(argv[3]);
    options.chunk = 16;  // prefill in chunks; the restoring side decodes one token at a time
    std::ifstream in(argv[4]);
    std::vector<int32_t> tokens;
    for (int32_t id; in >> id;) tokens.push_back(id);
    const std::string prefix = argv[5];
    engine::Runtime runtime(1);
    runtime.run([&] {
      engine::Session session(*model, options);
      for (int i = 6; i < argc; ++i) {
        const size_t n = static_cast<size_t>(std::atoll(argv[i]));
        if (n < static_cast<size_t>(session.position()) || n > tokens.size())
          fail("counts must grow and stay within the ", tokens.size(), " tokens");
        session.evaluate(std::span(tokens).subspan(static_cast<size_t>(session.position()),
                                                   n - static_cast<size_t>(session.position())));
        engine::save_session_file(prefix + "-" + argv[i] + ".session", session);
      }
    });
  } catch (const Error& e) {
    std::fprintf(stderr, "session_save_tool: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
