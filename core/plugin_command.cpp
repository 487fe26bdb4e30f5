#include "plugin_command.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "command_line.hpp"
#include "omni/plugin_loader.hpp"
#include "omni/registry.hpp"
#include "plugin_search.hpp"

namespace omni::host {

int plugin_command(const std::vector<std::string>& words) {
  Registry registry;
  PluginLoader loader(registry);
  loader.load_directories(plugin_search_path({}, {}));

  std::size_t best_length = 0;
  std::string best_name;
  for (const std::string& name : registry.names(ComponentKind::command)) {
    std::string spelled;
    for (std::size_t count = 1; count <= words.size(); ++count) {
      spelled += (count > 1 ? " " : "") + words[count - 1];
      if (spelled == name && count > best_length) {
        best_length = count;
        best_name = name;
      }
    }
  }
  if (best_name.empty()) {
    std::vector<std::string> known{"run", "validate", "plugins", "predict", "debug tokenize"};
    for (const std::string& name : registry.names(ComponentKind::command)) known.push_back(name);
    throw UsageError(fmt::format("unknown command '{}'; known commands: {}", words.front(),
                                 fmt::join(known, ", ")));
  }
  const std::vector<std::string> arguments(words.begin() + static_cast<long>(best_length),
                                           words.end());
  const CommandFactory& command = registry.command(best_name);
  if (command.run_with_components) return command.run_with_components(arguments, registry);
  return command.run(arguments);
}

}  // namespace omni::host
