#include "qwen_vl/registered_tokenizer.hpp"

#include <fmt/format.h>

#include "omni/error.hpp"
#include "qwen_vl/qwen_tokenizer.hpp"

namespace qwen_vl {
namespace {

namespace fs = std::filesystem;

class RegisteredQwenTokenizer final : public omni::Tokenizer {
 public:
  explicit RegisteredQwenTokenizer(QwenTokenizer tokenizer) : tokenizer_(std::move(tokenizer)) {}

  // Qwen2's tokenizer adds no start or end token, so add_special_tokens changes nothing (as
  // in transformers); it has no padding scheme of its own in this project.
  std::vector<std::int64_t> encode(std::string_view text,
                                   const omni::TokenizeOptions& options) const override {
    if (options.max_length != 0) {
      throw omni::Error("the qwen tokenizer does not pad or truncate: max_length must be 0");
    }
    return tokenizer_.encode(text);
  }

  std::string decode(const std::vector<std::int64_t>& ids,
                     bool skip_special_tokens) const override {
    return tokenizer_.decode(ids, skip_special_tokens);
  }

  std::int64_t vocab_size() const override { return tokenizer_.vocab_size(); }

 private:
  QwenTokenizer tokenizer_;
};

}  // namespace

omni::TokenizerFactory qwen_tokenizer_factory() {
  return {"qwen", "Qwen2's byte-level BPE from tokenizer.json, as Hugging Face tokenizers",
          [](const fs::path& path) -> std::unique_ptr<omni::Tokenizer> {
            const fs::path file = fs::is_directory(path) ? path / "tokenizer.json" : path;
            return std::make_unique<RegisteredQwenTokenizer>(QwenTokenizer::from_file(file));
          }};
}

}  // namespace qwen_vl
