// `dsv4 inspect FILE.gguf`: metadata (arrays abbreviated) and the tensor table of any GGUF.
#include <cstdio>
#include <map>
#include <string>

#include "apps/command.h"
#include "gguf/reader.h"

namespace dsv4::apps {

int run_inspect(int argc, char** argv) {
  CLI::App app{"Show the metadata and tensors of a GGUF file", argv[0]};
  std::string path;
  bool show_tensors = true;
  app.add_option("file", path, "GGUF file")->required();
  app.add_flag("!--no-tensors", show_tensors, "omit the tensor table");
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;

  const gguf::GgufFile file = gguf::GgufFile::open(path);
  std::printf(
      "file: %s\nGGUF version %u, %zu metadata keys, %zu tensors, alignment %u, data at byte "
      "%llu\n\n",
      path.c_str(), file.version(), file.metadata().size(), file.tensors().size(), file.alignment(),
      static_cast<unsigned long long>(file.data_offset()));
  std::printf("metadata:\n");
  for (const gguf::KeyValue& kv : file.metadata())
    std::printf("  %-48s %s\n", kv.key.c_str(), kv.value.describe().c_str());

  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // type -> (count, bytes)
  uint64_t total = 0;
  for (const gguf::TensorInfo& t : file.tensors()) {
    auto& entry = by_type[std::string(gguf::type_name(t.type))];
    entry.first += 1;
    entry.second += t.size_bytes;
    total += t.size_bytes;
  }
  if (show_tensors) {
    std::printf("\ntensors:\n");
    for (const gguf::TensorInfo& t : file.tensors())
      std::printf("  %-40s %-8s %-24s %12llu bytes\n", t.name.c_str(),
                  std::string(gguf::type_name(t.type)).c_str(), t.shape_string().c_str(),
                  static_cast<unsigned long long>(t.size_bytes));
  }
  std::printf("\nbytes by type:\n");
  for (const auto& [type, entry] : by_type)
    std::printf("  %-8s %6llu tensors %14llu bytes\n", type.c_str(),
                static_cast<unsigned long long>(entry.first),
                static_cast<unsigned long long>(entry.second));
  std::printf("  total    %6zu tensors %14llu bytes (%.2f GiB)\n", file.tensors().size(),
              static_cast<unsigned long long>(total), static_cast<double>(total) / (1u << 30));
  return 0;
}

}  // namespace dsv4::apps
