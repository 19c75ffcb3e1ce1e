// A main for the fuzz targets without libFuzzer: each file named on the command line (or found
// in a directory named there) goes to LLVMFuzzerTestOneInput as it is, truncated at eight
// points and with single bytes flipped at eight places. ctest runs it over fuzz/corpus/ in
// every build, so the sanitizer suite in CI exercises each target's code with GCC alone.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

size_t run_variants(std::vector<uint8_t> input) {
  // Each input gets a heap copy of its exact size, so that ASan sees reads past its end.
  const auto run = [](const std::vector<uint8_t>& bytes) {
    std::vector<uint8_t> exact(bytes);
    LLVMFuzzerTestOneInput(exact.data(), exact.size());
  };
  run(input);
  size_t runs = 1;
  for (size_t k = 0; k < 8 && !input.empty(); ++k, ++runs)
    run(std::vector<uint8_t>(input.begin(),
                             input.begin() + static_cast<long>(input.size() * k / 8)));
  for (size_t k = 0; k < 8 && !input.empty(); ++k, ++runs) {
    const size_t at = (input.size() * (2 * k + 1) / 16 + k * 7919) % input.size();
    input[at] ^= static_cast<uint8_t>(0x80 >> k);
    run(input);
    input[at] ^= static_cast<uint8_t>(0x80 >> k);
  }
  return runs;
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  size_t files = 0, runs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::vector<std::filesystem::path> paths;
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg))
        if (entry.is_regular_file()) paths.push_back(entry.path());
    } else {
      paths.push_back(arg);
    }
    for (const auto& path : paths) {
      runs += run_variants(read_file(path));
      ++files;
    }
  }
  std::printf("%zu inputs from %zu files\n", runs, files);
  return 0;
}
