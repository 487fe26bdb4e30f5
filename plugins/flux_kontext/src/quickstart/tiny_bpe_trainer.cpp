#include "quickstart/tiny_bpe_trainer.hpp"

#include "omni/byte_level_bpe.hpp"

namespace flux_kontext {

BpeMerges train_bpe(const std::map<std::string, std::size_t>& word_counts,
                    std::size_t max_merges) {
  std::vector<std::pair<std::vector<std::string>, std::size_t>> words;
  for (const auto& [word, count] : word_counts) {
    words.emplace_back(omni::byte_level_symbols(word, "</w>"), count);
  }

  BpeMerges result;
  while (result.merges.size() < max_merges) {
    std::map<std::pair<std::string, std::string>, std::size_t> pair_counts;
    for (const auto& [symbols, count] : words) {
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
        pair_counts[{symbols[i], symbols[i + 1]}] += count;
      }
    }
    const std::pair<std::string, std::string>* best = nullptr;
    std::size_t best_count = 1;
    for (const auto& [pair, count] : pair_counts) {
      if (count > best_count) {
        best = &pair;
        best_count = count;
      }
    }
    if (best == nullptr) break;
    const auto [first, second] = *best;
    for (auto& [symbols, count] : words) {
      std::vector<std::string> merged;
      merged.reserve(symbols.size());
      for (std::size_t i = 0; i < symbols.size();) {
        if (i + 1 < symbols.size() && symbols[i] == first && symbols[i + 1] == second) {
          merged.push_back(first + second);
          i += 2;
        } else {
          merged.push_back(symbols[i]);
          i += 1;
        }
      }
      symbols.swap(merged);
    }
    result.merges.emplace_back(first, second);
  }
  return result;
}

}  // namespace flux_kontext
