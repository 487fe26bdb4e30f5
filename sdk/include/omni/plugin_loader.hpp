#pragma once
// Finds, checks and loads plugin modules (Boost.DLL, RTLD_LOCAL). The descriptor's ABI
// version and build fingerprint are checked before any other plugin code runs; a library
// whose code ran stays loaded for the rest of the process, so nothing it made outlives it.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "omni/build_fingerprint.hpp"
#include "omni/export.hpp"
#include "omni/registry.hpp"

namespace omni {

struct LoadedPlugin {
  std::filesystem::path file;
  std::string name;
  std::string version;
  std::vector<ComponentEntry> components;
};

struct RejectedPlugin {
  std::filesystem::path file;
  std::string reason;  // one line
};

struct ShadowedPlugin {
  std::filesystem::path file;
  std::filesystem::path loaded_from;  // the earlier file with the same plugin name
};

struct PluginReport {
  std::vector<std::filesystem::path> directories;  // searched, in order
  std::vector<LoadedPlugin> loaded;
  std::vector<RejectedPlugin> rejected;
  std::vector<ShadowedPlugin> shadowed;
};

class OMNI_API PluginLoader {
 public:
  explicit PluginLoader(Registry& registry);

  // Loads one module file. Throws omni::Error whose message is the one-line reason.
  LoadedPlugin load(const std::filesystem::path& file);

  // Loads every `*.so` of each directory, directories in order, files sorted by name. A
  // directory that does not exist is skipped; a directory listed twice is searched once; a
  // plugin whose name was already loaded from an earlier file is shadowed, not loaded.
  PluginReport load_directories(const std::vector<std::filesystem::path>& directories);

 private:
  LoadedPlugin activate(const std::filesystem::path& file, void* checked_module);
  const LoadedPlugin* find_loaded(std::string_view name) const;

  Registry& registry_;
  std::vector<LoadedPlugin> loaded_;
};

// The build fingerprint of this SDK (and so of the host linked with it).
OMNI_API OmniBuildFingerprint sdk_fingerprint();
// "gcc 12, C++11 ABI 1, LibTorch 1.13.0, CPU, release"
OMNI_API std::string describe_fingerprint(const OmniBuildFingerprint& fingerprint);

}  // namespace omni
