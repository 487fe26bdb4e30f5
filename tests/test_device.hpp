#pragma once
// The device the numerics tests that accept one run on: OMNI_TEST_DEVICE ("cpu" by default,
// "cuda" from scripts/gpu-check.sh). On CUDA, TF32 is switched off so that the fp32 fixtures'
// tolerances hold (cuDNN convolutions use TF32 by default).
#include <cstdlib>
#include <string>

#include <ATen/Context.h>
#include <c10/core/Device.h>

namespace omni::test {

inline c10::Device test_device() {
  static const c10::Device device = [] {
    const char* name = std::getenv("OMNI_TEST_DEVICE");
    c10::Device chosen(name != nullptr && name[0] != '\0' ? std::string(name) : "cpu");
    if (chosen.is_cuda()) {
      at::globalContext().setAllowTF32CuBLAS(false);
      at::globalContext().setAllowTF32CuDNN(false);
    }
    return chosen;
  }();
  return device;
}

}  // namespace omni::test
