#include <iostream>

#include <fmt/format.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "omni/plugin_loader.hpp"
#include "plugin_search.hpp"

namespace omni::host {

int plugins_command(const std::vector<std::string>& arguments) {
  cxxopts::Options options("omnihost plugins",
                           "List every plugin file found, what it registered, and why any "
                           "file was rejected.");
  add_plugin_path_options(options);
  const std::optional<cxxopts::ParseResult> parsed = parse_plugin_command(options, arguments, "plugins");
  if (!parsed) return 0;
  Registry registry;
  PluginLoader loader(registry);
  PluginReport report = loader.load_directories(plugin_search_path(plugin_paths_of(*parsed), {}));

  std::cout << "search path (first wins):\n";
  for (const auto& directory : report.directories) {
    std::error_code status;
    std::cout << fmt::format("  {}{}\n", directory.string(),
                             std::filesystem::is_directory(directory, status) ? ""
                                                                              : "  (missing)");
  }
  std::cout << fmt::format("host build: {}\n", describe_fingerprint(sdk_fingerprint()));
  std::cout << fmt::format("loaded ({}):\n", report.loaded.size());
  for (const LoadedPlugin& plugin : report.loaded) {
    std::cout << fmt::format("  {} {}  {}\n", plugin.name, plugin.version, plugin.file.string());
    for (const ComponentEntry& component : plugin.components) {
      std::cout << fmt::format("    {:<16} {:<22} {}\n", kind_name(component.kind),
                               component.name, component.summary);
    }
  }
  if (!report.shadowed.empty()) {
    std::cout << fmt::format("shadowed ({}):\n", report.shadowed.size());
    for (const ShadowedPlugin& shadowed : report.shadowed) {
      std::cout << fmt::format("  {}  (same plugin already loaded from {})\n",
                               shadowed.file.string(), shadowed.loaded_from.string());
    }
  }
  std::cout << fmt::format("rejected ({}):\n", report.rejected.size());
  for (const RejectedPlugin& rejected : report.rejected) {
    std::cout << fmt::format("  {}: {}\n", rejected.file.string(), rejected.reason);
  }
  return 0;
}

}  // namespace omni::host
