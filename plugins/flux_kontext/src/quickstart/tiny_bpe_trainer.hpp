#pragma once
// A plain byte-level BPE trainer in CLIP's conventions, enough to make a small test vocabulary.
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace flux_kontext {

struct BpeMerges {
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
};

// `word_counts`: pre-tokenized words (raw UTF-8) and how often each occurs. Stops after
// `max_merges` merges or when no pair occurs twice. Ties go to the smallest pair, so the
// result depends only on the input.
BpeMerges train_bpe(const std::map<std::string, std::size_t>& word_counts,
                    std::size_t max_merges);

}  // namespace flux_kontext
