#pragma once
// A tokenizer registered by name (`clip`, `t5`, `qwen`, ...), opened from its files: what
// `omnihost debug tokenize` and the tokenizer comparisons run, whichever plugin provides it.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "omni/export.hpp"

namespace omni {

struct TokenizeOptions {
  // Hugging Face's add_special_tokens: CLIP's <|startoftext|> ... <|endoftext|>, T5's </s>.
  bool add_special_tokens = false;
  // 0: the ids as they come. Otherwise padding="max_length", truncation=True: every row has
  // exactly this many ids, cut keeping the end token, padded with the pad token.
  std::int64_t max_length = 0;
};

class OMNI_API Tokenizer {
 public:
  virtual ~Tokenizer();
  virtual std::vector<std::int64_t> encode(std::string_view text,
                                           const TokenizeOptions& options) const = 0;
  // Throws omni::Error on an id the vocabulary lacks.
  virtual std::string decode(const std::vector<std::int64_t>& ids,
                             bool skip_special_tokens) const = 0;
  virtual std::int64_t vocab_size() const = 0;
};

struct TokenizerFactory {
  std::string name;
  std::string summary;
  // Opens the tokenizer at `path`: its own folder or file, or a model folder holding it (a
  // diffusers pipeline folder, a Hugging Face model folder). Throws omni::Error naming the
  // file that is missing or malformed.
  std::function<std::unique_ptr<Tokenizer>(const std::filesystem::path& path)> open;
};

}  // namespace omni
