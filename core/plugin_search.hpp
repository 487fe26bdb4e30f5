#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace omni::host {

// The plugin directories in search order: `--plugin-path`, the config's `plugin_paths`,
// OMNI_PLUGIN_PATH (colon-separated), <exe>/../<libdir>/omnihost/plugins, the build tree.
std::vector<std::filesystem::path> plugin_search_path(
    const std::vector<std::filesystem::path>& command_line,
    const std::vector<std::filesystem::path>& from_config);

}  // namespace omni::host
