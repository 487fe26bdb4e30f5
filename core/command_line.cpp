#include "command_line.hpp"

#include <iostream>

#include <fmt/format.h>

namespace omni::host {

cxxopts::ParseResult parse_arguments(cxxopts::Options& options,
                                     const std::vector<std::string>& arguments) {
  std::vector<const char*> argv{options.program().c_str()};
  for (const std::string& argument : arguments) argv.push_back(argument.c_str());
  try {
    return options.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const cxxopts::exceptions::exception& error) {
    throw UsageError(fmt::format("{}: {}", options.program(), error.what()));
  }
}

void add_plugin_path_options(cxxopts::Options& options) {
  options.add_options()
      ("plugin-path", "extra plugin folder, searched first (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("h,help", "show this help");
}

std::optional<cxxopts::ParseResult> parse_plugin_command(cxxopts::Options& options,
                                                         const std::vector<std::string>& arguments,
                                                         const std::string& command) {
  cxxopts::ParseResult parsed = parse_arguments(options, arguments);
  if (parsed.count("help")) {
    std::cout << options.help();
    return std::nullopt;
  }
  if (!parsed.unmatched().empty()) {
    throw UsageError(fmt::format("{}: unexpected argument '{}'", command, parsed.unmatched()[0]));
  }
  return parsed;
}

std::vector<std::filesystem::path> plugin_paths_of(const cxxopts::ParseResult& parsed) {
  std::vector<std::filesystem::path> paths;
  if (parsed.count("plugin-path")) {
    for (const auto& path : parsed["plugin-path"].as<std::vector<std::string>>()) {
      paths.emplace_back(path);
    }
  }
  return paths;
}

void add_config_command_options(cxxopts::Options& options, bool with_threads) {
  options.add_options()
      ("config", "the YAML config file", cxxopts::value<std::string>())
      ("set", "override a key: key.path=value (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("plugin-path", "extra plugin folder, searched first (repeatable)",
       cxxopts::value<std::vector<std::string>>());
  if (with_threads) {
    options.add_options()
        ("threads", "CPU threads for LibTorch (default: the config's `threads`, else one per core)",
         cxxopts::value<int>());
  }
  options.add_options()("h,help", "show this help");
  options.parse_positional({"config"});
  options.positional_help("CONFIG");
}

std::optional<ConfigCommand> parse_config_command(cxxopts::Options& options,
                                                  const std::vector<std::string>& arguments,
                                                  const std::string& command) {
  ConfigCommand result{parse_arguments(options, arguments), {}};
  const cxxopts::ParseResult& parsed = result.parsed;
  if (parsed.count("help")) {
    std::cout << options.help();
    return std::nullopt;
  }
  if (!parsed.count("config")) throw UsageError(command + ": missing the CONFIG argument");
  result.request.config_file = parsed["config"].as<std::string>();
  if (parsed.count("set")) result.request.overrides = parsed["set"].as<std::vector<std::string>>();
  result.request.plugin_paths = plugin_paths_of(parsed);
  return result;
}

}  // namespace omni::host
