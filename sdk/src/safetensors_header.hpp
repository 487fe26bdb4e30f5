#pragma once
// The LibTorch-free core of the safetensors reader: parses a file's header and validates it
// against the file's size. Kept separate so the fuzzer can build and exercise it alone.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "omni/tensor_info.hpp"

namespace omni::detail {

// The Python library's limit too: a larger header is a hostile or corrupt file.
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;
  std::uint64_t data_begin = 0;  // file offset of the data section: 8 + header length
};

// Bytes per element of a safetensors dtype name; 0 when the name is unknown.
std::size_t safetensors_dtype_size(std::string_view dtype);

// `file` holds the whole file, `file_size` bytes (null when empty). Throws omni::Error naming
// `path` and, where there is one, the tensor, on any defect.
SafetensorsHeader parse_safetensors_header(const std::uint8_t* file, std::uint64_t file_size,
                                           const std::string& path);

}  // namespace omni::detail
