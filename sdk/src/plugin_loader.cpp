#include "omni/plugin_loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/error.hpp"
#include "omni/plugin_api.hpp"

namespace omni {
namespace {

// A dlopen() handle, closed when its last copy goes.
using LibraryHandle = std::shared_ptr<void>;

LibraryHandle open_library(const std::filesystem::path& file) {
  // RTLD_LOCAL: one plugin's symbols never satisfy another's; RTLD_NOW: a missing symbol
  // or library fails here, not at a random later call.
  dlerror();
  void* handle = dlopen(file.c_str(), RTLD_LOCAL | RTLD_NOW);
  if (handle == nullptr) {
    const char* reason = dlerror();
    throw Error(fmt::format("cannot load the library: {}", reason ? reason : "unknown error"));
  }
  return LibraryHandle(handle, [](void* opened) { dlclose(opened); });
}

// Libraries whose code has run stay loaded until the process exits: factories, objects and
// exception types they made may be alive anywhere (Boost.DLL's "Missuses" page says why).
// Never destroyed on purpose, so no static destructor can unload them too early.
std::vector<LibraryHandle>& resident_libraries() {
  static auto* libraries = new std::vector<LibraryHandle>();
  return *libraries;
}

bool same(const char* a, const char* b) {
  return std::strcmp(a ? a : "", b ? b : "") == 0;
}

// Names the fields in which the plugin's build differs from the host's.
std::string fingerprint_difference(const OmniBuildFingerprint& host,
                                   const OmniBuildFingerprint& plugin) {
  std::vector<std::string> fields;
  if (!same(host.compiler, plugin.compiler)) fields.push_back("compiler");
  if (host.cxx11_abi != plugin.cxx11_abi) fields.push_back("C++11 ABI");
  if (!same(host.torch_version, plugin.torch_version)) fields.push_back("LibTorch version");
  if (host.cuda != plugin.cuda) fields.push_back("CUDA");
  if (host.debug != plugin.debug) fields.push_back("debug/release");
  return fmt::format("{}", fmt::join(fields, ", "));
}

}  // namespace

OmniBuildFingerprint sdk_fingerprint() { return OMNI_BUILD_FINGERPRINT; }

std::string describe_fingerprint(const OmniBuildFingerprint& f) {
  return fmt::format("{}, C++11 ABI {}, LibTorch {}, {}, {}", f.compiler ? f.compiler : "?",
                     f.cxx11_abi, f.torch_version ? f.torch_version : "?",
                     f.cuda ? "CUDA" : "CPU", f.debug ? "debug" : "release");
}

PluginLoader::PluginLoader(Registry& registry) : registry_(registry) {}

namespace {

// A module whose descriptor passed every check; nothing but its entry point has run.
struct CheckedModule {
  LibraryHandle library;
  const OmniPluginDescriptor* descriptor = nullptr;
};

CheckedModule open_checked(const std::filesystem::path& file) {
  std::error_code status;
  if (!std::filesystem::is_regular_file(file, status)) throw Error("not a regular file");
  CheckedModule module;
  module.library = open_library(file);
  void* symbol = dlsym(module.library.get(), OMNI_PLUGIN_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    throw Error(fmt::format("not an omnihost plugin: it exports no '{}' entry point",
                            OMNI_PLUGIN_ENTRY_SYMBOL));
  }
  auto entry = reinterpret_cast<OmniPluginEntryFunction>(symbol);
  const OmniPluginDescriptor* descriptor = entry();
  if (descriptor == nullptr) throw Error("its entry point returned no descriptor");
  if (descriptor->abi_major != OMNI_ABI_MAJOR || descriptor->abi_minor > OMNI_ABI_MINOR) {
    throw Error(fmt::format(
        "plugin ABI {}.{} is incompatible with this host's ABI {}.{}; rebuild the plugin "
        "against this SDK",
        descriptor->abi_major, descriptor->abi_minor, OMNI_ABI_MAJOR, OMNI_ABI_MINOR));
  }
  if (descriptor->name == nullptr || descriptor->name[0] == '\0') {
    throw Error("its descriptor has no plugin name");
  }
  const OmniBuildFingerprint host = sdk_fingerprint();
  std::string difference = fingerprint_difference(host, descriptor->build);
  if (!difference.empty()) {
    throw Error(fmt::format("build mismatch ({}): host [{}], plugin [{}]", difference,
                            describe_fingerprint(host), describe_fingerprint(descriptor->build)));
  }
  if (descriptor->register_components == nullptr) {
    throw Error("its descriptor has no registration function");
  }
  module.descriptor = descriptor;
  return module;
}

}  // namespace

LoadedPlugin PluginLoader::activate(const std::filesystem::path& file, void* checked) {
  CheckedModule& module = *static_cast<CheckedModule*>(checked);
  const OmniPluginDescriptor* descriptor = module.descriptor;
  LoadedPlugin plugin{file, descriptor->name, descriptor->version ? descriptor->version : ""};
  // From here on plugin code runs: the library stays resident whatever happens.
  resident_libraries().push_back(module.library);
  try {
    plugin.components = registry_.register_from(file.string(), [&](Registrar& registrar) {
      descriptor->register_components(&registrar);
    });
  } catch (const Error& error) {
    throw Error(fmt::format("registration rejected: {}", error.what()));
  } catch (const std::exception& error) {
    throw Error(fmt::format("registration failed: {}", error.what()));
  } catch (...) {
    throw Error("registration failed with an exception that is not a std::exception");
  }
  loaded_.push_back(plugin);
  return plugin;
}

const LoadedPlugin* PluginLoader::find_loaded(std::string_view name) const {
  for (const LoadedPlugin& plugin : loaded_) {
    if (plugin.name == name) return &plugin;
  }
  return nullptr;
}

LoadedPlugin PluginLoader::load(const std::filesystem::path& file) {
  CheckedModule module = open_checked(file);
  if (const LoadedPlugin* earlier = find_loaded(module.descriptor->name)) {
    throw Error(fmt::format("plugin '{}' is already loaded from {}", earlier->name,
                            earlier->file.string()));
  }
  return activate(file, &module);
}

PluginReport PluginLoader::load_directories(const std::vector<std::filesystem::path>& directories) {
  PluginReport report;
  std::set<std::filesystem::path> searched;
  for (const std::filesystem::path& directory : directories) {
    std::error_code status;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(directory, status);
    if (status) canonical = directory;
    if (!searched.insert(canonical).second) continue;
    report.directories.push_back(directory);
    if (!std::filesystem::is_directory(canonical, status)) continue;

    std::vector<std::filesystem::path> files;
    for (const auto& item : std::filesystem::directory_iterator(canonical, status)) {
      if (item.path().extension() == ".so") files.push_back(item.path());
    }
    std::sort(files.begin(), files.end());
    for (const std::filesystem::path& file : files) {
      try {
        CheckedModule module = open_checked(file);
        // A plugin with the name of one already loaded is shadowed by it (earlier in the
        // search order wins), so an installed copy and a build tree can coexist.
        if (const LoadedPlugin* earlier = find_loaded(module.descriptor->name)) {
          report.shadowed.push_back({file, earlier->file});
          continue;
        }
        report.loaded.push_back(activate(file, &module));
      } catch (const Error& error) {
        report.rejected.push_back({file, error.what()});
      }
    }
  }
  return report;
}

}  // namespace omni
