#pragma once
// What Hugging Face's CLIPTokenizer (transformers 5, backed by the tokenizers library: what
// diffusers' Flux pipelines run) does to a prompt before byte-level BPE. Public so that tests
// can check each step against values derived from the upstream definition.
#include <string>
#include <string_view>
#include <vector>


namespace flux_kontext {

// The normalizer: NFC, every run of white space (the White_Space property) to one space, then
// each character's lower case. Malformed UTF-8 becomes U+FFFD.
std::string clip_normalize(std::string_view text);

// The pre-tokenizer: the matches of CLIP's pattern (what lies between them, white space, is
// removed), <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// each then split by the byte-level pre-tokenizer's GPT-2 pattern (which changes only
// matches of the first two alternatives: "<|", "startoftext", "|>").
std::vector<std::string> clip_split_words(std::string_view text);

// The byte-level BPE itself (stand-in characters, merges) is omni/byte_level_bpe.hpp's, with
// "</w>" ending each word.

}  // namespace flux_kontext
