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

struct Utf8Sequence {
  char32_t code_point = 0;  // valid when well_formed
  std::size_t length = 1;   // bytes taken; never 0
  bool well_formed = false;
};

// The sequence starting at byte `at` (< text.size()). An ill-formed one spans its maximal
// subpart (Unicode 3.9, "U+FFFD substitution of maximal subparts"), so that a decoder that
// puts one U+FFFD per ill-formed sequence does what Python's errors="replace" does.
OMNI_API Utf8Sequence next_utf8_sequence(std::string_view text, std::size_t at);

}  // namespace omni
