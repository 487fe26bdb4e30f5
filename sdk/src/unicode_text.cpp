#include "omni/unicode_text.hpp"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include "omni/error.hpp"

namespace omni::unicode {
namespace {

icu::UnicodeString to_icu(std::u32string_view text) {
  return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(text.data()),
                                       static_cast<int32_t>(text.size()));
}

std::u32string from_icu(const icu::UnicodeString& text) {
  UErrorCode status = U_ZERO_ERROR;
  std::u32string out(static_cast<std::size_t>(text.countChar32()), U'\0');
  int32_t length = text.toUTF32(reinterpret_cast<UChar32*>(out.data()),
                                static_cast<int32_t>(out.size()), status);
  if (U_FAILURE(status)) throw omni::Error("ICU: UTF-32 conversion failed");
  out.resize(static_cast<std::size_t>(length));
  return out;
}

}  // namespace

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const auto length = static_cast<int32_t>(text.size());
  int32_t offset = 0;
  while (offset < length) {
    UChar32 code_point = 0;
    U8_NEXT(bytes, offset, length, code_point);
    out.push_back(code_point < 0 ? U'\uFFFD' : static_cast<char32_t>(code_point));
  }
  return out;
}

void append_utf8(std::string& out, char32_t code_point) {
  uint8_t buffer[U8_MAX_LENGTH];
  int32_t length = 0;
  U8_APPEND_UNSAFE(buffer, length, static_cast<UChar32>(code_point));
  out.append(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(length));
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t code_point : text) append_utf8(out, code_point);
  return out;
}

std::u32string nfc(std::u32string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) throw omni::Error("ICU: the NFC normalizer is unavailable");
  icu::UnicodeString normalized = normalizer->normalize(to_icu(text), status);
  if (U_FAILURE(status)) throw omni::Error("ICU: NFC normalization failed");
  return from_icu(normalized);
}

std::u32string to_lower(std::u32string_view text) {
  icu::UnicodeString lowered = to_icu(text);
  lowered.toLower(icu::Locale::getRoot());
  return from_icu(lowered);
}

char32_t fold_case(char32_t code_point) {
  return static_cast<char32_t>(u_foldCase(static_cast<UChar32>(code_point), U_FOLD_CASE_DEFAULT));
}

bool is_letter(char32_t code_point) {
  return (U_GET_GC_MASK(static_cast<UChar32>(code_point)) & U_GC_L_MASK) != 0;
}

bool is_number(char32_t code_point) {
  return (U_GET_GC_MASK(static_cast<UChar32>(code_point)) & U_GC_N_MASK) != 0;
}

bool is_white_space(char32_t code_point) {
  return u_hasBinaryProperty(static_cast<UChar32>(code_point), UCHAR_WHITE_SPACE) != 0;
}

bool is_python_space(char32_t code_point) {
  if (is_space_separator(code_point)) return true;
  UCharDirection direction = u_charDirection(static_cast<UChar32>(code_point));
  return direction == U_WHITE_SPACE_NEUTRAL || direction == U_BLOCK_SEPARATOR ||
         direction == U_SEGMENT_SEPARATOR;
}

bool is_space_separator(char32_t code_point) {
  return u_charType(static_cast<UChar32>(code_point)) == U_SPACE_SEPARATOR;
}

bool is_other(char32_t code_point) {
  return (U_GET_GC_MASK(static_cast<UChar32>(code_point)) & U_GC_C_MASK) != 0;
}

}  // namespace omni::unicode
