#pragma once
// CLIP's byte-level BPE tokenizer, read from a diffusers `tokenizer/` folder and behaving like
// the Hugging Face CLIPTokenizer (Python, without ftfy), which is what FLUX pipelines run.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flux_kontext/text/token_batch.hpp"

namespace flux_kontext {

class ClipTokenizer {
 public:
  // Reads vocab.json and merges.txt (required) and tokenizer_config.json /
  // special_tokens_map.json (optional: bos, eos, unk, pad tokens and model_max_length).
  // Throws omni::Error naming the file that is missing or malformed.
  static ClipTokenizer from_folder(const std::filesystem::path& folder);

  // The BPE tokens of a prompt, without start/end tokens.
  std::vector<std::string> tokenize(std::string_view text) const;

  // Ids without padding or truncation; with SpecialTokens::include: <bos> ids <eos>.
  std::vector<std::int64_t> encode(std::string_view text,
                                   SpecialTokens specials = SpecialTokens::include) const;

  // padding="max_length", truncation=True: every row is <bos> ids <eos> <pad>..., cut to
  // `max_length` (0: model_max_length) keeping the end token. Each cut prompt yields a warning
  // quoting the cut text, sent to the warning sink and kept in the batch.
  TokenBatch encode_padded(const std::vector<std::string>& texts,
                           std::int64_t max_length = 0) const;

  // Throws omni::Error on an id the vocabulary lacks.
  std::string decode(const std::vector<std::int64_t>& ids,
                     SpecialTokens specials = SpecialTokens::include) const;

  std::optional<std::int64_t> token_to_id(std::string_view token) const;
  std::int64_t bos_id() const;
  std::int64_t eos_id() const;
  std::int64_t pad_id() const;
  std::int64_t unk_id() const;
  std::int64_t model_max_length() const;  // 77 when the files do not say
  std::int64_t vocab_size() const;

  void set_warning_sink(WarningSink sink) { warn_ = std::move(sink); }

  struct State;

 private:
  explicit ClipTokenizer(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
  WarningSink warn_ = warn_on_stderr;
};

}  // namespace flux_kontext
