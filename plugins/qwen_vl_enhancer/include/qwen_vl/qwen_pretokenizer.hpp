#pragma once
// The pre-tokenization of Qwen2's tokenizer.json: the Split pre-tokenizer with Qwen2's pattern
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
// (digits one at a time, unlike GPT-2's), matched by hand with the same alternation order and
// backtracking results, followed by GPT-2's byte-to-unicode mapping (ByteLevel,
// omni/byte_level_bpe.hpp).
#include <string>
#include <string_view>
#include <vector>

namespace qwen_vl {

// The pieces of `text` (UTF-8) as the pattern matches them, in order; they concatenate back
// to `text` (malformed UTF-8 is first replaced by U+FFFD).
std::vector<std::string> qwen2_pretokenize(std::string_view text);

}  // namespace qwen_vl
