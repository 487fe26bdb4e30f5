#pragma once
// What the Hugging Face CLIPTokenizer (the Python one, without ftfy installed, which is how
// diffusers pipelines usually run it) does to a prompt before byte-level BPE. Public so that
// tests can check each step against values derived from the upstream source.
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "flux_kontext/export.hpp"

namespace flux_kontext {

// BasicTokenizer(strip_accents=False, do_split_on_punc=False) joined with single spaces:
// drops NUL, U+FFFD and every C* character except \t \n \r, turns the other whitespace into
// spaces, puts spaces around CJK ideographs, NFC-normalises, splits on whitespace and
// lower-cases each piece. Malformed UTF-8 counts as U+FFFD and is therefore dropped.
FLUX_KONTEXT_API std::string clip_clean_text(std::string_view text);

// re.findall of CLIP's pre-tokenizer pattern (case-insensitive):
// <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
FLUX_KONTEXT_API std::vector<std::string> clip_split_words(std::string_view text);

// GPT-2's bytes_to_unicode(): byte -> UTF-8 of the printable character that stands for it,
// so that BPE never sees whitespace or control characters.
FLUX_KONTEXT_API const std::array<std::string, 256>& clip_byte_to_unicode();

// A word as BPE symbols: one stand-in character per UTF-8 byte, the last one carrying the
// end-of-word marker "</w>".
FLUX_KONTEXT_API std::vector<std::string> clip_word_symbols(std::string_view word);

}  // namespace flux_kontext
