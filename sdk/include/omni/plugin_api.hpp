#pragma once
// The C-level contract between the host and a plugin module.
//
// A plugin exports exactly one symbol, `omni_plugin_descriptor`, a function that returns a
// pointer to a constant plain struct. The host reads and checks that struct (ABI version and
// build fingerprint) before it calls any other code of the plugin, then calls
// `register_components` with its registrar. Use OMNI_PLUGIN() rather than writing the entry
// point by hand.
#include <cstdint>

#include "omni/build_fingerprint.hpp"
#include "omni/component.hpp"

// Bumped on any incompatible change of the SDK's interfaces (the host rejects another major);
// the minor grows with additions (the host accepts plugins built with an older or equal minor).
#define OMNI_ABI_MAJOR 2  // 2: StageContext::predict_request
#define OMNI_ABI_MINOR 0

#define OMNI_PLUGIN_ENTRY_SYMBOL "omni_plugin_descriptor"

extern "C" {

struct OmniPluginDescriptor {
  std::uint32_t abi_major;
  std::uint32_t abi_minor;
  const char* name;     // unique plugin name, e.g. "flux_kontext"
  const char* version;  // the plugin's own version, free-form
  OmniBuildFingerprint build;
  // Registers the plugin's factories; the argument is an omni::Registrar*.
  void (*register_components)(void* registrar);
};

typedef const OmniPluginDescriptor* (*OmniPluginEntryFunction)(void);
}

namespace omni {
class Registrar;
}

// Defines the plugin's entry point. `register_function` is `void f(omni::Registrar&)`.
// Registration happens there explicitly, never in static constructors.
#define OMNI_PLUGIN(plugin_name, plugin_version, register_function)                     \
  static void omni_plugin_register_trampoline(void* registrar) {                        \
    register_function(*static_cast<omni::Registrar*>(registrar));                       \
  }                                                                                     \
  extern "C" __attribute__((visibility("default"))) const OmniPluginDescriptor*         \
  omni_plugin_descriptor(void) {                                                        \
    static const OmniPluginDescriptor descriptor = {                                    \
        OMNI_ABI_MAJOR,         OMNI_ABI_MINOR, plugin_name, plugin_version,            \
        OMNI_BUILD_FINGERPRINT, &omni_plugin_register_trampoline};                      \
    return &descriptor;                                                                 \
  }
