// The libFuzzer entry point of one target, chosen when compiling (OMNI_FUZZ_TARGET names a
// function of fuzz_targets.hpp). Exceptions other than omni::Error are not caught: they
// terminate the process, which libFuzzer records as a crash with the input that caused it.
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  omni::fuzz::OMNI_FUZZ_TARGET(data, size);
  return 0;
}
