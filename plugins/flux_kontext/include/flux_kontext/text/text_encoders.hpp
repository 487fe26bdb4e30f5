#pragma once
// The two text encoders of FLUX.1 as registry components: `clip_text` (CLIP-L tokenizer and
// CLIPTextModel, pooled output) and `t5_encoder` (T5 tokenizer and T5EncoderModel,
// sequence output), each built from a pipeline folder or its component folders.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "flux_kontext/text/clip_text_model.hpp"
#include "flux_kontext/text/clip_tokenizer.hpp"
#include "flux_kontext/text/t5_encoder_model.hpp"
#include "flux_kontext/text/t5_tokenizer.hpp"
#include "omni/component.hpp"
#include "omni/text_encoder.hpp"

namespace flux_kontext {

struct TextEncoderOptions {
  std::string model;              // pipeline folder or repo id
  std::string revision = "main";
  std::string subfolder;          // text_encoder | text_encoder_2
  std::string tokenizer_subfolder;  // tokenizer | tokenizer_2
  // A folder holding the encoder's weights and config.json, instead of `model`/`subfolder`
  // (upstream's model.pretrained_embeddings.text_encoder[_2]); the tokenizer stays `model`'s.
  std::optional<std::string> weights_folder;
  std::string device = "cpu";
  // fp32 by default: T5 overflows in fp16 (upstream clamps); bf16 is the choice on GPUs.
  std::string dtype = "fp32";
  std::int64_t max_length = 0;  // 0: the tokenizer's model_max_length (77 / 512 for Flux)
};

// Reads a `clip_text` / `t5_encoder` options section; `kind` picks the defaults.
TextEncoderOptions parse_text_encoder_options(const omni::ConfigView& view,
                                              bool is_t5);

class ClipTextEncoder final : public omni::TextEncoder {
 public:
  explicit ClipTextEncoder(const TextEncoderOptions& options);
  // sequence = last hidden state [B, 77, 768]; pooled = pooled output [B, 768].
  omni::TextEmbeddings encode(const std::vector<std::string>& prompts) override;
  std::string identity() const override { return identity_; }
  ClipTokenizer& tokenizer() { return tokenizer_; }

 private:
  ClipTokenizer tokenizer_;
  ClipTextModel model_{nullptr};
  std::int64_t max_length_;
  std::string identity_;
};

class T5TextEncoder final : public omni::TextEncoder {
 public:
  explicit T5TextEncoder(const TextEncoderOptions& options);
  // sequence = last hidden state [B, 512, 4096], computed without an attention mask as the
  // Flux pipeline does; attention_mask marks the real tokens.
  omni::TextEmbeddings encode(const std::vector<std::string>& prompts) override;
  std::string identity() const override { return identity_; }
  T5Tokenizer& tokenizer() { return tokenizer_; }

 private:
  T5Tokenizer tokenizer_;
  T5EncoderModel model_{nullptr};
  std::int64_t max_length_;
  std::string identity_;
};

omni::TextEncoderFactory clip_text_encoder_factory();
omni::TextEncoderFactory t5_text_encoder_factory();

// The prompt encoding of the Kontext pipeline: T5 sequence embeddings, CLIP pooled
// embeddings and the (all-zero) text position ids. `prompts_2` (for T5) defaults to `prompts`.
struct KontextPromptEmbeddings {
  at::Tensor prompt_embeds;         // [B, T5 length, 4096]
  at::Tensor pooled_prompt_embeds;  // [B, 768]
  at::Tensor text_ids;              // [T5 length, 3] zeros
};

KontextPromptEmbeddings encode_kontext_prompts(
                                               omni::TextEncoder& clip, omni::TextEncoder& t5, const std::vector<std::string>& prompts,
                                               const std::vector<std::string>& prompts_2 = {});

}  // namespace flux_kontext
