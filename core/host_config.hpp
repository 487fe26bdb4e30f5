#pragma once
// The host's share of a config: reading the file with overrides, its own top-level keys,
// loading plugins, and handing the rest to the trainer's schema.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "omni/config.hpp"
#include "omni/distributed.hpp"
#include "omni/plugin_loader.hpp"
#include "omni/registry.hpp"

namespace omni::host {

struct JobRequest {
  std::filesystem::path config_file;
  std::vector<std::string> overrides;                // `--set key.path=value`
  std::vector<std::filesystem::path> plugin_paths;  // `--plugin-path DIR`
  bool strict_devices = true;                       // false for `validate`
};

struct PreparedJob {
  ConfigDocument document;
  std::string trainer;
  std::optional<std::string> mode;    // top-level `mode`, the default for --mode
  std::optional<std::string> resume;  // top-level `resume`, the default for --resume
  int threads = 0;                    // 0: one per core
  DistributedSettings distributed;    // top-level `distributed`
  PluginReport plugins;
};

// Reads and validates the whole config: the host's keys, then the trainer's sections, then
// the check that no key was left unread. Loads plugins into `registry` on the way (the
// config may name extra plugin folders). Throws ConfigError or Error.
PreparedJob prepare_job(const JobRequest& request, Registry& registry);

// One warning line per rejected plugin file, on standard error.
void warn_about_rejected_plugins(const PluginReport& report);

}  // namespace omni::host
