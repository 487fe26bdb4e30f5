#pragma once
// Internal: the shared state behind ConfigDocument and its views.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace omni {

struct ConfigDocumentState {
  std::string origin;  // the file name used in messages
  YAML::Node root;
  // For each mapping path, the keys some schema asked for (present or not).
  std::map<std::string, std::set<std::string>> known_keys;
  // Mapping paths whose keys are free-form.
  std::set<std::string> free_form;
  // Key path -> the `--set` text that wrote it.
  std::map<std::string, std::string> overrides;
  // Whether a device that this process cannot use is an error (run) or a warning (validate).
  bool strict_devices = true;
  std::vector<std::string> warnings;

  // "file:line:column" of `node`, or the `--set` that wrote `path`, or `fallback`.
  std::string location(const YAML::Node& node, const std::string& path,
                       const std::string& fallback) const;
};

}  // namespace omni
