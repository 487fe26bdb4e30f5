// Claims to be built against another LibTorch; its registration must never run.
#include <cstdlib>

#include "omni/plugin_api.hpp"

namespace {
void register_nothing(void*) { std::abort(); }
}  // namespace

extern "C" __attribute__((visibility("default"))) const OmniPluginDescriptor*
omni_plugin_descriptor(void) {
  static const OmniPluginDescriptor descriptor = {
      OMNI_ABI_MAJOR,
      OMNI_ABI_MINOR,
      "test_wrong_fingerprint",
      "1.0.0",
      {OMNI_COMPILER_ID, OMNI_CXX11_ABI, "0.0.1-other", OMNI_CUDA_FLAG, OMNI_DEBUG_FLAG},
      &register_nothing};
  return &descriptor;
}
