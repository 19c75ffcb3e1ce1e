// `dsv4`: git-style dispatcher over the subcommands of DESIGN.md §3.
#include <cstdio>
#include <cstring>
#include <exception>
#include <span>
#include <string>

#include "apps/command.h"
#include "base/error.h"

namespace dsv4::apps {
namespace {

void print_usage(std::FILE* out) {
  std::fprintf(
      out,
      "dsv4 %s: CPU inference engine for DeepSeek V4 Flash\n\n"
      "usage: dsv4 <command> [options]   (dsv4 <command> --help for its options)\n\ncommands:\n",
      DSV4_VERSION);
  for (const Command& c : commands())
    std::fprintf(out, "  %-10.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
}

}  // namespace

int parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "dsv4: error: %s: %s\n", app.get_name().c_str(), e.what());
    return 2;
  }
  return -1;
}

int run_not_implemented(int argc, char** argv) {
  (void)argc;
  std::fprintf(stderr, "dsv4: error: '%s' is not implemented yet\n", argv[0]);
  return 2;
}

}  // namespace dsv4::apps

int main(int argc, char** argv) {
  using namespace dsv4::apps;
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  if (name == "--version" || name == "-V") {
    std::printf("dsv4 %s\n", DSV4_VERSION);
    return 0;
  }
  for (const Command& c : commands()) {
    if (c.name != name) continue;
    std::string label = "dsv4 " + name;
    argv[1] = label.data();
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const dsv4::UsageError& e) {
      std::fprintf(stderr, "dsv4: error: %s\n", e.what());
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dsv4: error: %s\n", e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "dsv4: error: unknown command '%s' (see dsv4 --help)\n", name.c_str());
  return 2;
}
