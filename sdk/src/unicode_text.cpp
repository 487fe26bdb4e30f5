#include "omni/unicode_text.hpp"

#include <cstdlib>
#include <memory>

#include <fmt/format.h>
#include <utf8proc.h>

#include "omni/error.hpp"
#include "omni/utf8.hpp"

namespace omni::unicode {
namespace {

utf8proc_category_t category(char32_t code_point) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(code_point));
}

}  // namespace

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  std::size_t at = 0;
  while (at < text.size()) {
    const Utf8Sequence sequence = next_utf8_sequence(text, at);
    out.push_back(sequence.well_formed ? sequence.code_point : U'\uFFFD');
    at += sequence.length;
  }
  return out;
}

void append_utf8(std::string& out, char32_t code_point) {
  utf8proc_uint8_t buffer[4];
  const utf8proc_ssize_t length =
      utf8proc_encode_char(static_cast<utf8proc_int32_t>(code_point), buffer);
  out.append(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(length));
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t code_point : text) append_utf8(out, code_point);
  return out;
}

std::u32string nfc(std::u32string_view text) {
  const std::string utf8 = encode_utf8(text);
  utf8proc_uint8_t* composed = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                   static_cast<utf8proc_ssize_t>(utf8.size()), &composed,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (length < 0) {
    throw omni::Error(fmt::format("NFC normalization failed: {}", utf8proc_errmsg(length)));
  }
  const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(composed, &std::free);
  return decode_utf8(std::string_view(reinterpret_cast<const char*>(composed),
                                      static_cast<std::size_t>(length)));
}

std::u32string to_lower(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    // SpecialCasing.txt's one unconditional lower-case mapping to several code points:
    // U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE -> i + U+0307 COMBINING DOT ABOVE.
    // UnicodeData's simple mapping (what utf8proc_tolower gives) covers every other one.
    if (c == 0x130) {
      out += U"i\u0307";
      continue;
    }
    out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
  }
  return out;
}

char32_t fold_case(char32_t code_point) {
  utf8proc_int32_t folded[4];
  utf8proc_int32_t boundary = 0;
  const utf8proc_ssize_t count =
      utf8proc_decompose_char(static_cast<utf8proc_int32_t>(code_point), folded, 4,
                              UTF8PROC_CASEFOLD, &boundary);
  // Characters whose full folding is several code points (ß -> ss, ligatures) keep their own:
  // Unicode's simple folding differs from that only for characters that fold to no ASCII
  // letter, and the tokenizers compare folded text with ASCII literals.
  return count == 1 ? static_cast<char32_t>(folded[0]) : code_point;
}

bool is_letter(char32_t code_point) {
  const utf8proc_category_t c = category(code_point);
  return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

bool is_number(char32_t code_point) {
  const utf8proc_category_t c = category(code_point);
  return c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
}

bool is_white_space(char32_t code_point) {
  // PropList.txt's White_Space: the separators Zs, Zl, Zp and the controls TAB..CR and NEL.
  if ((code_point >= 0x09 && code_point <= 0x0D) || code_point == 0x85) return true;
  const utf8proc_category_t c = category(code_point);
  return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

bool is_python_space(char32_t code_point) {
  if (is_space_separator(code_point)) return true;
  const int bidi = utf8proc_get_property(static_cast<utf8proc_int32_t>(code_point))->bidi_class;
  return bidi == UTF8PROC_BIDI_CLASS_WS || bidi == UTF8PROC_BIDI_CLASS_B ||
         bidi == UTF8PROC_BIDI_CLASS_S;
}

bool is_space_separator(char32_t code_point) {
  return category(code_point) == UTF8PROC_CATEGORY_ZS;
}

bool is_other(char32_t code_point) {
  const utf8proc_category_t c = category(code_point);
  return c == UTF8PROC_CATEGORY_CN || c >= UTF8PROC_CATEGORY_CC;
}

}  // namespace omni::unicode
