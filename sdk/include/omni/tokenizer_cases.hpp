#pragma once
// Reference encodings of a tokenizer, as written by the Python libraries, and the comparison
// of a tokenizer with them: what `omnihost debug tokenize --cases` and the tests run.
//
// The file is JSON: {"sentences": [S...], "ids": [[id...]...]}, one id list per sentence,
// with optional "add_special_tokens" (default false) and "max_length" (default 0: no padding
// or truncation), the options the ids were made with (see omni::TokenizeOptions).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "omni/export.hpp"
#include "omni/tokenizer.hpp"

namespace omni {

struct TokenizerCases {
  std::filesystem::path file;
  std::vector<std::string> sentences;
  std::vector<std::vector<std::int64_t>> ids;
  TokenizeOptions options;
};

// Throws omni::Error naming the file and the key or entry that is wrong.
OMNI_API TokenizerCases read_tokenizer_cases(const std::filesystem::path& file);

struct TokenizerMismatch {
  std::size_t index = 0;
  std::string sentence;
  std::vector<std::int64_t> expected;
  std::vector<std::int64_t> actual;
};

struct TokenizerComparison {
  std::size_t total = 0;
  std::size_t matched = 0;
  std::vector<TokenizerMismatch> first_mismatches;  // at most `keep` of them
  bool all_match() const { return matched == total; }
};

OMNI_API TokenizerComparison compare_with_cases(const Tokenizer& tokenizer,
                                                const TokenizerCases& cases,
                                                std::size_t keep = 5);

// "600 of 600 sentences match" and, for each kept mismatch, the sentence (JSON-quoted), the
// expected ids and ours.
OMNI_API std::string describe_comparison(const TokenizerComparison& comparison);

}  // namespace omni
