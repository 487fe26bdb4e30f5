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
      ("config", "the YAML config file", cxxopts::value<std::string>())
      ("set", "override a key: key.path=value (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("plugin-path", "extra plugin folder, searched first (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("allow-missing-devices", "report devices this machine lacks (cuda:N without CUDA) as "
       "warnings, to check a GPU config elsewhere")
      ("h,help", "show this help");
  options.parse_positional({"config"});
  options.positional_help("CONFIG");
  cxxopts::ParseResult parsed = parse_arguments(options, arguments);
  if (parsed.count("help")) {
    std::cout << options.help();
    return 0;
  }
  if (!parsed.count("config")) throw UsageError("validate: missing the CONFIG argument");

  JobRequest request;
  request.config_file = parsed["config"].as<std::string>();
  if (parsed.count("set")) request.overrides = parsed["set"].as<std::vector<std::string>>();
  if (parsed.count("plugin-path")) {
    for (const auto& path : parsed["plugin-path"].as<std::vector<std::string>>()) {
      request.plugin_paths.emplace_back(path);
    }
  }
  // A device this machine lacks is an error, as it would be for `run`, unless asked to let a
  // GPU config be checked on another machine.
  request.strict_devices = parsed.count("allow-missing-devices") == 0;
  Registry registry;
  PreparedJob job = prepare_job(request, registry);
  for (const std::string& warning : job.document.warnings()) {
    std::cerr << "warning: " << warning << "\n";
  }
  std::cout << fmt::format("{}: valid (trainer {})\n", request.config_file.string(), job.trainer);
  return 0;
}

}  // namespace omni::host
