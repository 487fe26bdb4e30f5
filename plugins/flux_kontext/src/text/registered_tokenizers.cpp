#include "flux_kontext/text/registered_tokenizers.hpp"

#include <fmt/format.h>

#include "flux_kontext/text/clip_tokenizer.hpp"
#include "flux_kontext/text/t5_tokenizer.hpp"
#include "omni/error.hpp"

namespace flux_kontext {
namespace {

namespace fs = std::filesystem;

// The tokenizer's own folder when it holds `marker`, else `path/subfolder` of a pipeline.
fs::path tokenizer_folder(const fs::path& path, const char* marker, const char* subfolder) {
  if (fs::is_regular_file(path / marker)) return path;
  if (fs::is_regular_file(path / subfolder / marker)) return path / subfolder;
  if (!fs::exists(path)) throw omni::Error(fmt::format("{}: no such file or folder", path.string()));
  throw omni::Error(fmt::format("{}: neither it nor its {}/ subfolder holds {}", path.string(),
                                subfolder, marker));
}

// ClipTokenizer and T5Tokenizer share their interface; only the padded path needs the
// special tokens, which Hugging Face's tokenizers add before cutting to max_length.
template <class Wrapped>
class RegisteredTokenizer final : public omni::Tokenizer {
 public:
  explicit RegisteredTokenizer(Wrapped tokenizer) : tokenizer_(std::move(tokenizer)) {
    tokenizer_.set_warning_sink([](const std::string&) {});
  }

  std::vector<std::int64_t> encode(std::string_view text,
                                   const omni::TokenizeOptions& options) const override {
    const SpecialTokens specials =
        options.add_special_tokens ? SpecialTokens::include : SpecialTokens::exclude;
    if (options.max_length == 0) return tokenizer_.encode(text, specials);
    if (!options.add_special_tokens) {
      throw omni::Error("padding to max_length is supported with add_special_tokens only");
    }
    TokenBatch batch = tokenizer_.encode_padded({std::string(text)}, options.max_length);
    const at::Tensor row = batch.input_ids[0].contiguous();
    return {row.data_ptr<std::int64_t>(), row.data_ptr<std::int64_t>() + row.numel()};
  }

  std::string decode(const std::vector<std::int64_t>& ids,
                     bool skip_special_tokens) const override {
    return tokenizer_.decode(ids, skip_special_tokens ? SpecialTokens::exclude
                                                      : SpecialTokens::include);
  }

  std::int64_t vocab_size() const override { return tokenizer_.vocab_size(); }

 private:
  Wrapped tokenizer_;
};

}  // namespace

omni::TokenizerFactory clip_tokenizer_factory() {
  return {"clip", "CLIP's byte-level BPE (vocab.json, merges.txt), as transformers' CLIPTokenizer",
          [](const fs::path& path) -> std::unique_ptr<omni::Tokenizer> {
            return std::make_unique<RegisteredTokenizer<ClipTokenizer>>(
                ClipTokenizer::from_folder(tokenizer_folder(path, "vocab.json", "tokenizer")));
          }};
}

omni::TokenizerFactory t5_tokenizer_factory() {
  return {"t5", "T5's sentencepiece unigram (spiece.model), as transformers' T5TokenizerFast",
          [](const fs::path& path) -> std::unique_ptr<omni::Tokenizer> {
            return std::make_unique<RegisteredTokenizer<T5Tokenizer>>(
                T5Tokenizer::from_folder(tokenizer_folder(path, "spiece.model", "tokenizer_2")));
          }};
}

}  // namespace flux_kontext
