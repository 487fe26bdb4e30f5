#pragma once
// Qwen2's tokenizer from a Hugging Face tokenizer.json: added tokens (<|im_start|>,
// <|image_pad|>, ...) matched first, NFC, Qwen2's pre-tokenizer pattern, byte-level BPE; the
// decoder maps the byte-level characters back to UTF-8.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qwen_vl {

class QwenTokenizer {
 public:
  // Reads `tokenizer_json`; throws omni::Error naming the file and what is wrong.
  static QwenTokenizer from_file(const std::filesystem::path& tokenizer_json);

  std::vector<std::int64_t> encode(std::string_view text) const;
  // Special added tokens are dropped when `skip_special_tokens`; bytes that do not form valid
  // UTF-8 become U+FFFD. Throws omni::Error on an id the vocabulary lacks.
  std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const;

  std::optional<std::int64_t> token_to_id(std::string_view token) const;
  // The id of an added or regular token that must exist; throws naming the token.
  std::int64_t require_id(std::string_view token) const;
  std::int64_t vocab_size() const;  // regular plus added tokens

  struct State;

 private:
  explicit QwenTokenizer(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

}  // namespace qwen_vl
