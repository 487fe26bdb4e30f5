#pragma once
// Where one tensor lives inside a safetensors file. Kept free of LibTorch so that the header
// parser can be built and fuzzed on its own.
#include <cstdint>
#include <string>
#include <vector>

namespace omni {

struct TensorInfo {
  std::string name;
  std::string dtype;  // as written in the file: "F32", "BF16", ...
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte range inside the data section
  std::uint64_t end = 0;
};

}  // namespace omni
