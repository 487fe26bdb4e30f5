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
  // With `collect_problems`, a read that finds a wrong type, a missing key or a bad value
  // records the problem here and goes on with the fallback, so that one run reports every
  // mistake (see ConfigDocument::collect_problems).
  bool collect_problems = false;
  std::vector<std::string> problems;
  // Key path -> the problem recorded for it, so that a later check of the same key (made
  // on the stand-in value) does not report it a second time.
  std::map<std::string, std::string> failed_keys;

  // Throws `message` as a ConfigError, or records it when collecting.
  void report(const std::string& key_path, const std::string& message);

  // "file:line:column" of `node`, or the `--set` that wrote `path`, or `fallback`.
  std::string location(const YAML::Node& node, const std::string& path,
                       const std::string& fallback) const;
};

}  // namespace omni
