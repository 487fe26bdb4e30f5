#pragma once
// cxxopts glue shared by the subcommands.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

// Repeated options (`--set`) keep commas: cxxopts would otherwise split
// `--set target_size=[32, 32]` into two values.
#define CXXOPTS_VECTOR_DELIMITER '\0'
#include <cxxopts.hpp>

#include "host_config.hpp"
#include "omni/error.hpp"

namespace omni::host {

// Parses `arguments` (without the program and subcommand words). Unknown options and
// malformed values become omni::UsageError with cxxopts' message.
cxxopts::ParseResult parse_arguments(cxxopts::Options& options,
                                     const std::vector<std::string>& arguments);

// The commands that load plugins without a config (plugins, debug tokenize) share
// --plugin-path and --help; add the command's own options first.
void add_plugin_path_options(cxxopts::Options& options);

// Parses such a command's arguments. Prints the help and returns nothing for --help; a stray
// argument is a UsageError naming `command`.
std::optional<cxxopts::ParseResult> parse_plugin_command(cxxopts::Options& options,
                                                         const std::vector<std::string>& arguments,
                                                         const std::string& command);

// The --plugin-path folders given, in order.
std::vector<std::filesystem::path> plugin_paths_of(const cxxopts::ParseResult& parsed);

// What the config-driven commands (run, validate, predict) share: the CONFIG positional
// argument, --set, --plugin-path and --help, plus --threads when `with_threads`. Add the
// command's own options first.
void add_config_command_options(cxxopts::Options& options, bool with_threads);

// A parsed config-driven command line, with the job request its shared options describe
// (the config file, --set overrides in order, --plugin-path folders).
struct ConfigCommand {
  cxxopts::ParseResult parsed;
  JobRequest request;
};

// Parses a config-driven command's arguments. Prints the help and returns nothing for
// --help; a missing CONFIG is a UsageError naming `command`.
std::optional<ConfigCommand> parse_config_command(cxxopts::Options& options,
                                                  const std::vector<std::string>& arguments,
                                                  const std::string& command);

// Thrown for a bad command line; main() prints it with a hint to use --help.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace omni::host
