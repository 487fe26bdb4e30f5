#include "omni/byte_level_bpe.hpp"

#include <limits>

#include "omni/unicode_text.hpp"

namespace omni {

const std::array<char32_t, 256>& byte_level_alphabet() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> stand_ins{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      stand_ins[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return stand_ins;
  }();
  return table;
}

std::string bytes_to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) unicode::append_utf8(out, byte_level_alphabet()[b]);
  return out;
}

std::string byte_level_to_bytes(std::string_view text) {
  // Every stand-in is below U+0144.
  static const std::array<int, 512> byte_of = [] {
    std::array<int, 512> inverse{};
    inverse.fill(-1);
    for (int b = 0; b < 256; ++b) inverse[byte_level_alphabet()[static_cast<std::size_t>(b)]] = b;
    return inverse;
  }();
  std::string out;
  for (char32_t c : unicode::decode_utf8(text)) {
    if (c < byte_of.size() && byte_of[c] >= 0) {
      out.push_back(static_cast<char>(byte_of[c]));
    } else {
      unicode::append_utf8(out, c);
    }
  }
  return out;
}

std::vector<std::string> byte_level_symbols(std::string_view word, std::string_view end_of_word) {
  std::vector<std::string> symbols;
  symbols.reserve(word.size());
  for (unsigned char b : word) {
    symbols.emplace_back();
    unicode::append_utf8(symbols.back(), byte_level_alphabet()[b]);
  }
  if (!symbols.empty()) symbols.back() += end_of_word;
  return symbols;
}

void BpeMerges::add(const std::string& first, const std::string& second) {
  ranks_[first + " " + second] = next_rank_++;
}

std::vector<std::string> BpeMerges::apply(std::vector<std::string> symbols) const {
  std::vector<std::string> merged;
  while (symbols.size() > 1) {
    std::size_t best_rank = std::numeric_limits<std::size_t>::max();
    std::size_t best_at = 0;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto rank = ranks_.find(symbols[i] + " " + symbols[i + 1]);
      if (rank != ranks_.end() && rank->second < best_rank) {
        best_rank = rank->second;
        best_at = i;
      }
    }
    if (best_rank == std::numeric_limits<std::size_t>::max()) break;
    const std::string first = symbols[best_at];
    const std::string second = symbols[best_at + 1];
    merged.clear();
    for (std::size_t i = 0; i < symbols.size();) {
      if (i + 1 < symbols.size() && symbols[i] == first && symbols[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(std::move(symbols[i]));
        i += 1;
      }
    }
    symbols.swap(merged);
  }
  return symbols;
}

}  // namespace omni
