#pragma once
// The few Unicode facts the tokenizers need, answered by ICU so that they agree with the
// Unicode database Python's `unicodedata` and the `regex` module use.
#include <string>
#include <string_view>

namespace flux_kontext::unicode {

// Malformed UTF-8 becomes U+FFFD, one per maximal ill-formed subsequence (what Python's
// errors="replace" does), so that no byte sequence can throw.
std::u32string decode_utf8(std::string_view text);
std::string encode_utf8(std::u32string_view text);
void append_utf8(std::string& out, char32_t code_point);

std::u32string nfc(std::u32string_view text);
// Full (not simple) lower-case mapping with the final-sigma rule, like Python's str.lower().
std::u32string to_lower(std::u32string_view text);
// Simple case folding, what a case-insensitive regex compares.
char32_t fold_case(char32_t code_point);

bool is_letter(char32_t code_point);        // \p{L}
bool is_number(char32_t code_point);        // \p{N}
bool is_white_space(char32_t code_point);   // regex \s: the White_Space property
bool is_python_space(char32_t code_point);  // str.isspace(): Zs, or bidi class WS, B or S
bool is_space_separator(char32_t code_point);  // category Zs
bool is_other(char32_t code_point);  // category C* (Cc, Cf, Cs, Co, Cn)

}  // namespace flux_kontext::unicode
