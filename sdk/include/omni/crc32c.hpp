#pragma once
// CRC-32C (Castagnoli), the checksum of TFRecord files (TensorBoard event files) and of many
// storage formats. Written here rather than taken from a library: it is twenty lines, and the
// SDK then needs no protobuf or TensorFlow runtime to write training logs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "omni/export.hpp"

namespace omni {

// The CRC-32C of `size` bytes, continuing from `crc` (the result of an earlier call over the
// bytes before them; 0 to start).
OMNI_API std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size);

inline std::uint32_t crc32c(std::string_view bytes) {
  return crc32c_extend(0, bytes.data(), bytes.size());
}

// TFRecord stores CRCs "masked": a CRC computed over data that itself holds CRCs is then
// less likely to look valid by accident.
inline std::uint32_t mask_crc32c(std::uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

inline std::uint32_t unmask_crc32c(std::uint32_t masked) {
  const std::uint32_t rotated = masked - 0xa282ead8u;
  return (rotated >> 17) | (rotated << 15);
}

}  // namespace omni
