#include "plugin_search.hpp"

#include <cstdlib>
#include <sstream>


namespace omni::host {

std::vector<std::filesystem::path> plugin_search_path(
    const std::vector<std::filesystem::path>& command_line,
    const std::vector<std::filesystem::path>& from_config) {
  std::vector<std::filesystem::path> directories(command_line);
  directories.insert(directories.end(), from_config.begin(), from_config.end());
  if (const char* environment = std::getenv("OMNI_PLUGIN_PATH")) {
    std::stringstream entries(environment);
    std::string entry;
    while (std::getline(entries, entry, ':')) {
      if (!entry.empty()) directories.emplace_back(entry);
    }
  }
  // The running executable, through Linux's /proc (the host is built for Linux only).
  std::error_code status;
  std::filesystem::path executable_dir =
      std::filesystem::read_symlink("/proc/self/exe", status).parent_path();
  directories.push_back(executable_dir / ".." / OMNI_INSTALL_LIBDIR / "omnihost" / "plugins");
  directories.push_back(executable_dir / ".." / "lib" / "omnihost" / "plugins");
  directories.emplace_back(OMNI_BUILD_PLUGIN_DIR);
  for (auto& directory : directories) directory = directory.lexically_normal();
  return directories;
}

}  // namespace omni::host
