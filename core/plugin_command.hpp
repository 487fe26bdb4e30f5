#pragma once
#include <string>
#include <vector>

namespace omni::host {

// Runs a command that a plugin registered ("debug flux-forward ..."): the longest
// registered name that the leading words spell wins; the rest are its arguments.
int plugin_command(const std::vector<std::string>& words);

}  // namespace omni::host
