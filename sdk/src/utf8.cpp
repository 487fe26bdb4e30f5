#include "omni/utf8.hpp"

#include <cstdint>

namespace omni {

Utf8Sequence next_utf8_sequence(std::string_view text, std::size_t at) {
  const std::size_t size = text.size();
  auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t lead = byte(at);
  if (lead < 0x80) return {lead, 1, true};
  // The ranges of Unicode's table 3-7 ("well-formed UTF-8 byte sequences"): the second
  // byte's range depends on the lead byte, which rules out overlong forms and surrogates.
  std::size_t length = 0;
  std::uint8_t low = 0x80, high = 0xbf;
  char32_t code_point = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code_point = lead & 0x0f;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return {0, 1, false};
  }
  for (std::size_t k = 1; k < length; ++k) {
    const bool fits = at + k < size && (k == 1 ? byte(at + k) >= low && byte(at + k) <= high
                                               : (byte(at + k) & 0xc0) == 0x80);
    if (!fits) return {0, k, false};  // the lead byte and the k - 1 that fitted
    code_point = (code_point << 6) | (byte(at + k) & 0x3f);
  }
  return {code_point, length, true};
}

std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const Utf8Sequence sequence = next_utf8_sequence(text, at);
    if (!sequence.well_formed) return at;
    at += sequence.length;
  }
  return std::nullopt;
}

}  // namespace omni
