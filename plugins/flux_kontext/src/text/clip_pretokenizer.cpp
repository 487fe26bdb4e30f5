#include "flux_kontext/text/clip_pretokenizer.hpp"

#include "text/unicode_text.hpp"

namespace flux_kontext {
namespace {

using unicode::is_letter;
using unicode::is_number;
using unicode::is_white_space;

bool matches_literal(std::u32string_view text, std::size_t at, std::u32string_view literal) {
  return text.substr(at, literal.size()) == literal;
}

bool is_other_symbol(char32_t c) { return !is_white_space(c) && !is_letter(c) && !is_number(c); }

// The end of the run of characters from `at` that satisfy `belongs`.
template <class Predicate>
std::size_t run_end(std::u32string_view text, std::size_t at, Predicate belongs) {
  while (at < text.size() && belongs(text[at])) ++at;
  return at;
}

constexpr std::u32string_view kContractions[] = {U"'s", U"'t", U"'re", U"'ve",
                                                 U"'m", U"'ll", U"'d"};

// The ByteLevel pre-tokenizer's split (GPT-2's pattern, which tokenizers applies after CLIP's):
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::vector<std::u32string_view> byte_level_split(std::u32string_view text) {
  std::vector<std::u32string_view> pieces;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = at;
    for (std::u32string_view literal : kContractions) {
      if (matches_literal(text, at, literal)) {
        end = at + literal.size();
        break;
      }
    }
    if (end == at) {
      const std::size_t body = text[at] == U' ' && at + 1 < text.size() ? at + 1 : at;
      const char32_t c = text[body];
      if (is_letter(c)) {
        end = run_end(text, body, is_letter);
      } else if (is_number(c)) {
        end = run_end(text, body, is_number);
      } else if (!is_white_space(c)) {
        end = run_end(text, body, is_other_symbol);
      } else {
        // \s+(?!\S): a run of white space, less its last character when a non-space follows
        // (that one goes with the next word); a lone one then matches \s+.
        end = run_end(text, at, is_white_space);
        if (end < text.size() && end - at > 1) --end;
      }
    }
    pieces.push_back(text.substr(at, end - at));
    at = end;
  }
  return pieces;
}

// CLIP's own pattern, in the order of its alternatives.
constexpr std::u32string_view kClipLiterals[] = {U"<|startoftext|>", U"<|endoftext|>", U"'s",
                                                 U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};

}  // namespace

std::string clip_normalize(std::string_view text) {
  const std::u32string composed = unicode::nfc(unicode::decode_utf8(text));
  std::u32string spaced;
  spaced.reserve(composed.size());
  for (std::size_t at = 0; at < composed.size();) {
    if (is_white_space(composed[at])) {
      spaced.push_back(U' ');
      at = run_end(composed, at, is_white_space);
    } else {
      spaced.push_back(composed[at++]);
    }
  }
  return unicode::encode_utf8(unicode::to_lower(spaced));
}

std::vector<std::string> clip_split_words(std::string_view text) {
  const std::u32string chars = unicode::decode_utf8(text);
  const std::u32string_view view(chars);
  std::vector<std::string> words;
  std::size_t at = 0;
  while (at < chars.size()) {
    std::size_t end = at;
    for (std::u32string_view literal : kClipLiterals) {
      if (matches_literal(view, at, literal)) {
        end = at + literal.size();
        break;
      }
    }
    if (end == at) {
      const char32_t c = chars[at];
      if (is_letter(c)) {
        end = run_end(view, at, is_letter);
      } else if (is_number(c)) {
        end = at + 1;
      } else if (!is_white_space(c)) {
        end = run_end(view, at, is_other_symbol);
      } else {
        ++at;  // what no alternative matches (white space) is removed
        continue;
      }
    }
    for (std::u32string_view piece : byte_level_split(view.substr(at, end - at))) {
      words.push_back(unicode::encode_utf8(piece));
    }
    at = end;
  }
  return words;
}

}  // namespace flux_kontext
