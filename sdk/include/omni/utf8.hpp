#pragma once
// UTF-8 validation for text that leaves the program: prompts read from datasets, tags and
// text written to TensorBoard (protobuf `string` fields must be valid UTF-8, and TensorBoard
// refuses a file holding one that is not).
#include <cstddef>
#include <optional>
#include <string_view>

#include "omni/export.hpp"

namespace omni {

// The byte offset of the first byte that does not start a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF are ill-formed), or nullopt.
OMNI_API std::optional<std::size_t> first_invalid_utf8(std::string_view text);

}  // namespace omni
