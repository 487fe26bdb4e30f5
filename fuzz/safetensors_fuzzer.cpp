// Feeds arbitrary bytes to the safetensors header parser as if they were a whole file. Every
// input must either parse into a consistent header or throw omni::Error; anything else
// (a crash, a sanitizer report, another exception type) is a bug.
#include <cstdint>
#include <cstdlib>

#include "omni/error.hpp"
#include "safetensors_header.hpp"

// The SDK defines this key function in a LibTorch translation unit the fuzzer does not build.
omni::Error::~Error() = default;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const omni::detail::SafetensorsHeader header =
        omni::detail::parse_safetensors_header(data, size, "fuzz-input");
    // What the reader relies on afterwards: every byte range inside the file.
    for (const omni::TensorInfo& tensor : header.tensors) {
      if (tensor.begin > tensor.end || header.data_begin + tensor.end > size) std::abort();
    }
  } catch (const omni::Error&) {
  }
  return 0;
}
