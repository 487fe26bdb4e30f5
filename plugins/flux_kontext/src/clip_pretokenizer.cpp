#include "flux_kontext/clip_pretokenizer.hpp"

#include "unicode_text.hpp"

namespace flux_kontext {
namespace {

using unicode::is_letter;
using unicode::is_number;

// BasicTokenizer._is_chinese_char: the CJK ideograph blocks only (not kana or hangul).
bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_basic_whitespace(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || unicode::is_space_separator(c);
}

bool is_basic_control(char32_t c) {
  if (c == U'\t' || c == U'\n' || c == U'\r') return false;
  return unicode::is_other(c);
}

// Python's str.split() without arguments.
std::vector<std::u32string> split_on_python_space(const std::u32string& text) {
  std::vector<std::u32string> pieces;
  std::u32string current;
  for (char32_t c : text) {
    if (unicode::is_python_space(c)) {
      if (!current.empty()) pieces.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) pieces.push_back(std::move(current));
  return pieces;
}

// The pattern is compiled with re.IGNORECASE, so literals compare case-folded.
bool matches_literal(const std::u32string& text, std::size_t at, std::u32string_view literal) {
  if (text.size() - at < literal.size()) return false;
  for (std::size_t i = 0; i < literal.size(); ++i) {
    if (unicode::fold_case(text[at + i]) != unicode::fold_case(literal[i])) return false;
  }
  return true;
}

// The alternatives before the character classes, in the pattern's order.
constexpr std::u32string_view kLiterals[] = {U"<|startoftext|>", U"<|endoftext|>", U"'s", U"'t",
                                             U"'re", U"'ve", U"'m", U"'ll", U"'d"};

}  // namespace

std::string clip_clean_text(std::string_view text) {
  std::u32string cleaned;
  for (char32_t c : unicode::decode_utf8(text)) {
    if (c == 0 || c == 0xFFFD || is_basic_control(c)) continue;
    if (is_basic_whitespace(c)) {
      cleaned.push_back(U' ');
    } else if (is_cjk_ideograph(c)) {
      cleaned.push_back(U' ');
      cleaned.push_back(c);
      cleaned.push_back(U' ');
    } else {
      cleaned.push_back(c);
    }
  }
  std::string out;
  for (const std::u32string& piece : split_on_python_space(unicode::nfc(cleaned))) {
    if (!out.empty()) out.push_back(' ');
    out += unicode::encode_utf8(unicode::to_lower(piece));
  }
  return out;
}

std::vector<std::string> clip_split_words(std::string_view text) {
  const std::u32string chars = unicode::decode_utf8(text);
  std::vector<std::string> words;
  std::size_t at = 0;
  while (at < chars.size()) {
    std::size_t end = at;
    for (std::u32string_view literal : kLiterals) {
      if (matches_literal(chars, at, literal)) {
        end = at + literal.size();
        break;
      }
    }
    const char32_t c = chars[at];
    if (end == at) {
      if (is_letter(c)) {
        while (end < chars.size() && is_letter(chars[end])) ++end;
      } else if (is_number(c)) {
        end = at + 1;
      } else if (!unicode::is_white_space(c)) {
        while (end < chars.size() && !unicode::is_white_space(chars[end]) &&
               !is_letter(chars[end]) && !is_number(chars[end])) {
          ++end;
        }
      } else {
        ++at;  // findall skips what no alternative matches: only whitespace
        continue;
      }
    }
    words.push_back(unicode::encode_utf8(std::u32string_view(chars).substr(at, end - at)));
    at = end;
  }
  return words;
}

const std::array<std::string, 256>& clip_byte_to_unicode() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> mapping;
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    // Printable Latin-1 bytes stand for themselves; the rest take the code points from 256
    // upwards, in byte order.
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      char32_t stand_in = printable(b) ? static_cast<char32_t>(b) : next++;
      unicode::append_utf8(mapping[static_cast<std::size_t>(b)], stand_in);
    }
    return mapping;
  }();
  return table;
}

std::vector<std::string> clip_word_symbols(std::string_view word) {
  const auto& table = clip_byte_to_unicode();
  std::vector<std::string> symbols;
  symbols.reserve(word.size());
  for (char byte : word) symbols.push_back(table[static_cast<unsigned char>(byte)]);
  if (!symbols.empty()) symbols.back() += "</w>";
  return symbols;
}

}  // namespace flux_kontext
