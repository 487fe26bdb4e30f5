#include "omni/utf8.hpp"

#include <cstdint>

namespace omni {

std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t size = text.size();
  auto byte = [&](std::size_t at) { return static_cast<std::uint8_t>(text[at]); };
  auto continuation = [&](std::size_t at) { return at < size && (byte(at) & 0xc0) == 0x80; };
  while (i < size) {
    const std::uint8_t lead = byte(i);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // The ranges of Unicode's table 3-7 ("well-formed UTF-8 byte sequences"): the second
    // byte's range depends on the lead byte, which rules out overlong forms and surrogates.
    std::size_t length = 0;
    std::uint8_t low = 0x80, high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;
      if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) low = 0x90;
      if (lead == 0xf4) high = 0x8f;
    } else {
      return i;
    }
    if (i + 1 >= size || byte(i + 1) < low || byte(i + 1) > high) return i;
    for (std::size_t k = 2; k < length; ++k) {
      if (!continuation(i + k)) return i;
    }
    i += length;
  }
  return std::nullopt;
}

}  // namespace omni
