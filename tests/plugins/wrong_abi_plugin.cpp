// Claims a plugin ABI major version from the future; its registration must never run.
#include <cstdlib>

#include "omni/plugin_api.hpp"

namespace {
void register_nothing(void*) { std::abort(); }
}  // namespace

extern "C" __attribute__((visibility("default"))) const OmniPluginDescriptor*
omni_plugin_descriptor(void) {
  static const OmniPluginDescriptor descriptor = {
      OMNI_ABI_MAJOR + 1, 0, "test_wrong_abi", "1.0.0", OMNI_BUILD_FINGERPRINT, &register_nothing};
  return &descriptor;
}
