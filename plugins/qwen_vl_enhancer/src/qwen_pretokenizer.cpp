#include "qwen_vl/qwen_pretokenizer.hpp"

#include <array>

#include "omni/unicode_text.hpp"

namespace qwen_vl {
namespace {

using omni::unicode::is_letter;
using omni::unicode::is_number;
using omni::unicode::is_white_space;

bool is_newline(char32_t c) { return c == U'\r' || c == U'\n'; }

// (?i:s) also matches U+017F LATIN SMALL LETTER LONG S, which case-folds to 's'.
bool folds_to(char32_t c, char32_t lower) {
  return omni::unicode::fold_case(c) == lower;
}

// Length of the match of the pattern at `i` (always > 0 for i < s.size()).
std::size_t match_at(const std::u32string& s, std::size_t i) {
  const std::size_t n = s.size();
  auto letters_from = [&](std::size_t k) {
    while (k < n && is_letter(s[k])) ++k;
    return k;
  };
  auto whitespace_from = [&](std::size_t k) {
    while (k < n && is_white_space(s[k])) ++k;
    return k;
  };
  auto other = [&](char32_t c) { return !is_white_space(c) && !is_letter(c) && !is_number(c); };
  const char32_t c = s[i];
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (c == U'\'' && i + 1 < n) {
    const char32_t a = s[i + 1];
    if (folds_to(a, U's') || folds_to(a, U't') || folds_to(a, U'm') || folds_to(a, U'd')) return 2;
    if (i + 2 < n) {
      const char32_t b = s[i + 2];
      if ((folds_to(a, U'r') && folds_to(b, U'e')) || (folds_to(a, U'v') && folds_to(b, U'e')) ||
          (folds_to(a, U'l') && folds_to(b, U'l'))) {
        return 3;
      }
    }
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (is_letter(c)) return letters_from(i) - i;
  if (!is_newline(c) && !is_number(c) && i + 1 < n && is_letter(s[i + 1])) {
    return letters_from(i + 1) - i;
  }
  // \p{N}
  if (is_number(c)) return 1;
  // ' '?[^\s\p{L}\p{N}]+[\r\n]*
  const std::size_t start = (c == U' ' && i + 1 < n && other(s[i + 1])) ? i + 1 : i;
  if (other(s[start])) {
    std::size_t k = start;
    while (k < n && other(s[k])) ++k;
    while (k < n && is_newline(s[k])) ++k;
    return k - i;
  }
  // Only whitespace is left at i.
  const std::size_t run_end = whitespace_from(i);
  // \s*[\r\n]+: up to the last newline of the whitespace run (\s* backtracks to it).
  for (std::size_t k = run_end; k > i; --k) {
    if (is_newline(s[k - 1])) return k - i;
  }
  // \s+(?!\S): the whole run at the end of the text, else all but its last character.
  if (run_end == n) return run_end - i;
  if (run_end - i > 1) return run_end - 1 - i;
  // \s+
  return run_end - i;
}

}  // namespace

std::vector<std::string> qwen2_pretokenize(std::string_view text) {
  const std::u32string s = omni::unicode::decode_utf8(text);
  std::vector<std::string> pieces;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t length = match_at(s, i);
    pieces.push_back(omni::unicode::encode_utf8(std::u32string_view(s).substr(i, length)));
    i += length;
  }
  return pieces;
}

}  // namespace qwen_vl
