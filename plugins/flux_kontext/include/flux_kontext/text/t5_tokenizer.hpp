#pragma once
// T5's sentencepiece tokenizer, read from a diffusers `tokenizer_2/` folder (spiece.model) and
// behaving like the Hugging Face T5TokenizerFast on ordinary text: "</s>" appended, padding
// with <pad> (id 0) on the right, truncation that keeps "</s>".
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flux_kontext/text/token_batch.hpp"

namespace flux_kontext {

class T5Tokenizer {
 public:
  // Reads spiece.model (required) and tokenizer_config.json / special_tokens_map.json
  // (optional: eos, pad, unk tokens, extra_ids, added tokens, model_max_length).
  // Throws omni::Error naming the file that is missing or malformed.
  static T5Tokenizer from_folder(const std::filesystem::path& folder);

  // Ids without padding or truncation; with SpecialTokens::include, "</s>" is appended.
  std::vector<std::int64_t> encode(std::string_view text,
                                   SpecialTokens specials = SpecialTokens::include) const;

  // padding="max_length", truncation=True: ids "</s>" <pad>..., cut to `max_length`
  // (0: model_max_length, 512 when the files do not say) keeping "</s>". Each cut prompt
  // yields a warning quoting the cut text, sent to the warning sink and kept in the batch.
  TokenBatch encode_padded(const std::vector<std::string>& texts,
                           std::int64_t max_length = 0) const;

  std::string decode(const std::vector<std::int64_t>& ids,
                     SpecialTokens specials = SpecialTokens::include) const;

  std::int64_t eos_id() const;
  std::int64_t pad_id() const;
  std::int64_t unk_id() const;
  std::int64_t model_max_length() const;
  std::int64_t vocab_size() const;  // sentencepiece pieces plus added tokens (extra_ids)

  void set_warning_sink(WarningSink sink) { warn_ = std::move(sink); }

  struct State;

 private:
  explicit T5Tokenizer(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
  WarningSink warn_ = warn_on_stderr;
};

}  // namespace flux_kontext
