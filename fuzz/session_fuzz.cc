// Session files (`dsv4 chat` /load, the server's prompt cache) loaded into a session of a
// tiny synthetic model. The checksum is recomputed over the input first, so that mutations
// reach the checks behind it; each defect must be refused with a dsv4::Error, leaving the
// session usable. Valid files are too large to commit as seeds (the compressor frontiers
// alone are a few hundred KiB), so with DSV4_SESSION_SEED=FILE the target first writes one
// (scripts/fuzz does, into the working corpus).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <unistd.h>

#include "base/error.h"
#include "base/hash64.h"
#include "engine/model.h"
#include "engine/session.h"
#include "engine/session_file.h"
#include "engine/synth_model.h"

namespace {

struct Fixture {
  std::unique_ptr<dsv4::engine::Model> model;
  std::unique_ptr<dsv4::engine::Session> session;
};

Fixture& fixture() {
  static Fixture f = [] {
    // The model the committed seeds were saved with: the tiny preset, vocabulary 512, seed 1.
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("dsv4-session-fuzz-" + std::to_string(getpid()) + ".gguf"))
                                 .string();
    dsv4::engine::SynthOptions options;
    options.config = dsv4::engine::synthetic_config("tiny", 0, 0, 512);
    dsv4::engine::write_synthetic_model(path, options);
    Fixture made;
    made.model = dsv4::engine::Model::load(path);
    std::filesystem::remove(path);  // stays mapped
    made.session = std::make_unique<dsv4::engine::Session>(
        *made.model, dsv4::engine::SessionOptions{.context = 256});
    if (const char* seed = std::getenv("DSV4_SESSION_SEED")) {
      const std::vector<int32_t> tokens = {0, 300, 17, 42, 511};
      made.session->evaluate(tokens);
      dsv4::engine::save_session_file(seed, *made.session, R"({"note":"seed"})");
    }
    return made;
  }();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> image(data, data + size);
  if (image.size() >= 8) {
    const uint64_t checksum = dsv4::hash64(image.data(), image.size() - 8);
    std::memcpy(image.data() + image.size() - 8, &checksum, 8);
  }
  try {
    dsv4::engine::load_session_image(image, "fuzz.session", *fixture().session);
  } catch (const dsv4::Error&) {
  }
  return 0;
}
