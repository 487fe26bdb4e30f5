#pragma once
// safetensors dtype names <-> LibTorch scalar types, shared by the reader and the writer.
#include <optional>
#include <string_view>

#include <c10/core/ScalarType.h>

#include "omni/torch_compat.hpp"

namespace omni::detail {

struct DtypePair {
  std::string_view name;
  c10::ScalarType type;
};

inline constexpr DtypePair kTorchDtypes[] = {
    {"F64", c10::kDouble},  {"F32", c10::kFloat}, {"F16", c10::kHalf}, {"BF16", c10::kBFloat16},
    {"I64", c10::kLong},    {"I32", c10::kInt},   {"I16", c10::kShort}, {"I8", c10::kChar},
    {"U8", c10::kByte},     {"BOOL", c10::kBool},
#if OMNI_HAS_FLOAT8
    {"F8_E4M3", c10::kFloat8_e4m3fn}, {"F8_E5M2", c10::kFloat8_e5m2},
#endif
};

inline std::optional<c10::ScalarType> torch_dtype(std::string_view name) {
  for (const DtypePair& pair : kTorchDtypes) {
    if (pair.name == name) return pair.type;
  }
  return std::nullopt;
}

inline std::optional<std::string_view> safetensors_dtype(c10::ScalarType type) {
  for (const DtypePair& pair : kTorchDtypes) {
    if (pair.type == type) return pair.name;
  }
  return std::nullopt;
}

}  // namespace omni::detail
