// `dsv4 tokenize -m M.gguf [--special]`: text on stdin -> JSON array of token ids on stdout.
// Only the tokenizer metadata of the GGUF is read.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "apps/command.h"
#include "apps/tokenizer_gguf.h"
#include "render/tokenizer.h"

namespace dsv4::apps {

int run_tokenize(int argc, char** argv) {
  CLI::App app{"Tokenize the text on stdin and print the token ids as a JSON array", argv[0]};
  std::string model_path;
  bool special = false;
  app.add_option("-m,--model", model_path, "GGUF file with the tokenizer")->required();
  app.add_flag("--special", special, "recognise special-token text (rendered prompts)");
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;

  const render::Tokenizer tokenizer(read_tokenizer_metadata(gguf::GgufFile::open(model_path)));
  const std::string text{std::istreambuf_iterator<char>(std::cin),
                         std::istreambuf_iterator<char>()};
  std::string out = "[";
  for (int32_t id : tokenizer.encode(text, special)) {
    if (out.size() > 1) out += ',';
    out += std::to_string(id);
  }
  out += "]\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace dsv4::apps
