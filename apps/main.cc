// `dsv4`: git-style dispatcher over the subcommands of DESIGN.md §3.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <vector>

#include "apps/command.h"
#include "base/error.h"
#include "simd/targets.h"

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

std::string joined(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  return list;
}

// The version and the SIMD targets: the one in use (DSV4_TARGET applied), the ones this CPU
// can run, and the ones compiled in.
int print_version() {
  const std::vector<std::string> available = simd::available_targets();
  simd::pin_target_from_environment();
  const char* pinned = std::getenv("DSV4_TARGET");
  std::printf("dsv4 %s\nSIMD target: %s%s\navailable on this CPU: %s\ncompiled: %s\n", DSV4_VERSION,
              simd::active_target().c_str(),
              pinned != nullptr && *pinned != '\0' ? " (DSV4_TARGET)" : "",
              joined(available).c_str(), joined(simd::compiled_targets()).c_str());
  return 0;
}

// Runs a command, reporting an error as one line: exit 2 for a usage error, else 1.
template <class Body>
int report_errors(Body body) {
  try {
    return body();
  } catch (const dsv4::UsageError& e) {
    std::fprintf(stderr, "dsv4: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dsv4: error: %s\n", e.what());
    return 1;
  }
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
  if (name == "--version" || name == "-V") return report_errors(print_version);
  for (const Command& c : commands()) {
    if (c.name != name) continue;
    std::string label = "dsv4 " + name;
    argv[1] = label.data();
    return report_errors([&] { return c.run(argc - 1, argv + 1); });
  }
  std::fprintf(stderr, "dsv4: error: unknown command '%s' (see dsv4 --help)\n", name.c_str());
  return 2;
}
