#pragma once
// Reading the JSON side files of a Hugging Face tokenizer folder (tokenizer_config.json,
// special_tokens_map.json), shared by the CLIP and T5 tokenizers.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace flux_kontext {

// Throws omni::Error naming the file and `what_it_holds` when it is missing.
void require_file(const std::filesystem::path& file, std::string_view tokenizer,
                  std::string_view what_it_holds);

nlohmann::json read_json_file(const std::filesystem::path& file);

struct AddedTokenEntry {
  std::string content;
  std::int64_t id = 0;
  bool special = false;
};

// The settings the tokenizers use from tokenizer_config.json and special_tokens_map.json;
// special_tokens_map.json wins where both name a token, as in transformers' from_pretrained.
struct TokenizerSettings {
  // Keyed "bos_token", "eos_token", "unk_token", "pad_token"; a JSON null means "none".
  std::optional<std::string> bos, eos, unk, pad;
  bool bos_set = false, eos_set = false, unk_set = false, pad_set = false;
  std::vector<std::string> additional_special_tokens;
  std::vector<AddedTokenEntry> added_tokens;  // tokenizer_config.json's added_tokens_decoder
  std::optional<std::int64_t> model_max_length;  // absent or the "unlimited" sentinel: none
  std::optional<std::int64_t> extra_ids;
  bool clean_up_tokenization_spaces = false;
};

TokenizerSettings read_tokenizer_settings(const std::filesystem::path& folder);

// Splits text around the added tokens (earliest match first, the longest at one position),
// as transformers' Trie.split does; `tokens` holds the strings that must not be split.
struct TextPiece {
  std::string_view text;
  bool is_added_token = false;
};
std::vector<TextPiece> split_on_added_tokens(std::string_view text,
                                             const std::vector<std::string>& tokens);

}  // namespace flux_kontext
