#include <iostream>

#include <fmt/format.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "host_config.hpp"

namespace omni::host {

int validate_command(const std::vector<std::string>& arguments) {
  cxxopts::Options options("omnihost validate",
                           "Check a config against the host's and the plugins' schemas "
                           "without loading any model.");
  options.add_options()
      ("allow-missing-devices", "report devices this machine lacks (cuda:N without CUDA) as "
       "warnings, to check a GPU config elsewhere")
      ("list-keys", "after validating, print every key the host's and the plugins' schemas "
       "read for this config, present or not (key paths, one per line; list items as a[].b)");
  add_config_command_options(options, /*with_threads=*/false);
  std::optional<ConfigCommand> command =
      parse_config_command(options, arguments, "validate");
  if (!command) return 0;
  const cxxopts::ParseResult& parsed = command->parsed;

  JobRequest request = command->request;
  // A device this machine lacks is an error, as it would be for `run`, unless asked to let a
  // GPU config be checked on another machine.
  request.strict_devices = parsed.count("allow-missing-devices") == 0;
  Registry registry;
  PreparedJob job = prepare_job(request, registry);
  if (parsed.count("list-keys")) {
    for (const std::string& key : job.document.read_keys()) std::cout << key << "\n";
    return 0;
  }
  std::cout << fmt::format("{}: valid (trainer {})\n", request.config_file.string(), job.trainer);
  return 0;
}

}  // namespace omni::host
