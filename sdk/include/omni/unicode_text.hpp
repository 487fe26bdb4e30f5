#pragma once
// The few Unicode facts the tokenizers need (CLIP and T5 in flux_kontext, Qwen2 in
// qwen_vl_enhancer), answered by utf8proc so that they agree with the Unicode database Python's
// `unicodedata` and the `regex` module use.
#include <string>
#include <string_view>

#include "omni/export.hpp"

namespace omni::unicode {

// Malformed UTF-8 becomes U+FFFD, one per maximal ill-formed subsequence (what Python's
// errors="replace" does), so that no byte sequence can throw.
OMNI_API std::u32string decode_utf8(std::string_view text);
OMNI_API std::string encode_utf8(std::u32string_view text);
OMNI_API void append_utf8(std::string& out, char32_t code_point);

OMNI_API std::u32string nfc(std::u32string_view text);
// Each character's full lower-case mapping (U+0130 becomes two code points), with no
// context rule such as Final_Sigma: what Rust's char::to_lowercase gives, which Hugging Face
// tokenizers' Lowercase normalizer applies character by character.
OMNI_API std::u32string to_lower(std::u32string_view text);
// Simple case folding, what a case-insensitive regex compares.
OMNI_API char32_t fold_case(char32_t code_point);

OMNI_API bool is_letter(char32_t code_point);        // \p{L}
OMNI_API bool is_number(char32_t code_point);        // \p{N}
OMNI_API bool is_white_space(char32_t code_point);   // regex \s: the White_Space property
OMNI_API bool is_python_space(char32_t code_point);  // str.isspace(): Zs, or bidi class WS, B or S
OMNI_API bool is_space_separator(char32_t code_point);  // category Zs
OMNI_API bool is_other(char32_t code_point);  // category C* (Cc, Cf, Cs, Co, Cn)

}  // namespace omni::unicode
