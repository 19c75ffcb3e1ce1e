// The `dsv4` subcommands. Each lives in its own cmd_<name>.cc and returns the exit status;
// errors are thrown as dsv4::Error / dsv4::UsageError and reported by main().
#pragma once

#include <span>
#include <string_view>

#include <CLI/CLI.hpp>

namespace dsv4::apps {

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(int argc, char** argv);  // argv[0] is "dsv4 <name>"
};

// All subcommands in the order `dsv4 --help` lists them.
std::span<const Command> commands();

// Parses `argc/argv` into `app`. Returns -1 when parsing succeeded and the command should run,
// otherwise the exit status to return (0 after --help, 2 after a usage error, reported as
// "dsv4: error: ...").
int parse_command_line(CLI::App& app, int argc, char** argv);

// Entry points, one per subcommand.
int run_inspect(int argc, char** argv);
int run_tokenize(int argc, char** argv);
int run_render(int argc, char** argv);
int run_parse(int argc, char** argv);
int run_convert(int argc, char** argv);
int run_logits(int argc, char** argv);
int run_synth(int argc, char** argv);
int run_bench(int argc, char** argv);
int run_run(int argc, char** argv);
int run_chat(int argc, char** argv);
int run_serve(int argc, char** argv);
int run_verify(int argc, char** argv);

}  // namespace dsv4::apps
