#pragma once
// Byte-level BPE, the tokenization of GPT-2 and its descendants (CLIP, Qwen2 and most LLM
// tokenizers): text is UTF-8 bytes, each byte written as a printable stand-in character, then
// merged pair by pair in the order a merges list ranks them. Model-specific pre-tokenization
// (which pieces are BPE'd on their own) stays with each tokenizer.
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "omni/export.hpp"

namespace omni {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the others take the
// code points from U+0100 on, in byte order.
OMNI_API const std::array<char32_t, 256>& byte_level_alphabet();

// Each byte as its stand-in, UTF-8 encoded ("\n" -> "Ċ", " " -> "Ġ").
OMNI_API std::string bytes_to_byte_level(std::string_view bytes);
// The inverse; characters that stand for no byte (those of added tokens) keep their UTF-8.
OMNI_API std::string byte_level_to_bytes(std::string_view text);

// A word's BPE symbols before any merge: one stand-in per byte, `end_of_word` (CLIP's "</w>")
// appended to the last.
OMNI_API std::vector<std::string> byte_level_symbols(std::string_view word,
                                                     std::string_view end_of_word = {});

// The merges of a vocabulary, ranked by the order they are added (the merges file or list);
// a pair added twice keeps the later rank, as Hugging Face tokenizers and Python's dict do.
class OMNI_API BpeMerges {
 public:
  void add(const std::string& first, const std::string& second);
  std::size_t size() const { return ranks_.size(); }

  // Merges the lowest-ranked adjacent pair, all its occurrences left to right, until no
  // adjacent pair is a merge.
  std::vector<std::string> apply(std::vector<std::string> symbols) const;

 private:
  std::unordered_map<std::string, std::size_t> ranks_;  // keyed "first second"
  std::size_t next_rank_ = 0;
};

}  // namespace omni
