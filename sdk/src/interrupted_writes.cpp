#include "omni/interrupted_writes.hpp"

#include <signal.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

namespace omni {

namespace fs = std::filesystem;

namespace {

bool process_alive(long pid) {
  if (pid <= 0) return false;
  // Signal 0 checks without sending: EPERM means it exists under another user.
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

std::size_t remove_interrupted_writes(const fs::path& folder) {
  static const std::regex temporary_file(R"(.+\.tmp-(\d+))");
  static const std::regex partial_folder(R"(\..+\.partial-(\d+))");
  std::error_code error;
  if (!fs::is_directory(folder, error)) return 0;
  std::vector<fs::path> stale;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    std::smatch match;
    const bool is_folder = it->is_directory(error) && !it->is_symlink(error);
    if (is_folder && std::regex_match(name, match, partial_folder)) {
      it.disable_recursion_pending();
    } else if (!(!is_folder && std::regex_match(name, match, temporary_file))) {
      continue;
    }
    if (!process_alive(std::strtol(match[1].str().c_str(), nullptr, 10))) stale.push_back(it->path());
  }
  std::size_t removed = 0;
  for (const fs::path& path : stale) {
    std::error_code ignored;
    if (fs::remove_all(path, ignored) > 0) ++removed;
  }
  return removed;
}

}  // namespace omni
