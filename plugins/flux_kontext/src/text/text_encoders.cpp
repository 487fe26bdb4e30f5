#include "flux_kontext/text/text_encoders.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "omni/config.hpp"
#include "omni/device.hpp"
#include "omni/error.hpp"
#include "omni/model_folder.hpp"

namespace flux_kontext {
namespace {

struct ResolvedFolders {
  std::filesystem::path model;
  std::filesystem::path tokenizer;
};

ResolvedFolders resolve(const TextEncoderOptions& options) {
  omni::ModelFolder folder = omni::ModelFolder::open(options.model, options.revision);
  if (options.weights_folder) {
    const std::filesystem::path weights = *options.weights_folder;
    if (!std::filesystem::is_regular_file(weights / "config.json")) {
      throw omni::Error(fmt::format("text encoder weights folder '{}': no config.json there "
                                    "(expected a transformers model folder)",
                                    weights.string()));
    }
    return {weights, folder.component(options.tokenizer_subfolder)};
  }
  return {folder.component(options.subfolder), folder.component(options.tokenizer_subfolder)};
}

// Names the weights and every setting that changes the embeddings, for cache keys.
std::string make_identity(const std::string& kind, const ResolvedFolders& folders,
                          const TextEncoderOptions& options, std::int64_t max_length) {
  std::error_code ignored;
  std::uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folders.model, ignored)) {
    if (entry.is_regular_file(ignored)) bytes += entry.file_size(ignored);
  }
  return fmt::format("{}:{}:{}bytes:{}:{}:max_length={}", kind,
                     std::filesystem::weakly_canonical(folders.model, ignored).string(), bytes,
                     std::filesystem::weakly_canonical(folders.tokenizer, ignored).string(),
                     options.dtype, max_length);
}

}  // namespace

TextEncoderOptions parse_text_encoder_options(const omni::ConfigView& view, bool is_t5) {
  TextEncoderOptions options;
  options.model = view.get<std::string>("model");
  options.revision = view.get<std::string>("revision", options.revision);
  options.subfolder = view.get<std::string>("subfolder", is_t5 ? "text_encoder_2" : "text_encoder");
  options.weights_folder = view.get_optional<std::string>("weights_folder");
  options.tokenizer_subfolder =
      view.get<std::string>("tokenizer_subfolder", is_t5 ? "tokenizer_2" : "tokenizer");
  options.device = view.get_device("device", options.device);
  options.dtype = view.get_enum("dtype", {"fp32", "bf16", "fp16"}, options.dtype);
  options.max_length = view.get<long>("max_length", 0);
  if (options.max_length < 0) view.fail("max_length", "expected 0 (the tokenizer's) or a length > 0");
  return options;
}

ClipTextEncoder::ClipTextEncoder(const TextEncoderOptions& options)
    : tokenizer_(ClipTokenizer::from_folder(resolve(options).tokenizer)) {
  ResolvedFolders folders = resolve(options);
  model_ = load_clip_text_model(folders.model, omni::parse_dtype(options.dtype),
                                omni::parse_device(options.device));
  max_length_ = options.max_length > 0 ? options.max_length : tokenizer_.model_max_length();
  identity_ = make_identity("clip_text", folders, options, max_length_);
}

omni::TextEmbeddings ClipTextEncoder::encode(const std::vector<std::string>& prompts) {
  TokenBatch batch = tokenizer_.encode_padded(prompts, max_length_);
  torch::NoGradGuard no_grad;
  ClipTextOutput output = model_->forward(batch.input_ids);
  return {output.last_hidden_state, output.pooler_output, batch.attention_mask};
}

T5TextEncoder::T5TextEncoder(const TextEncoderOptions& options)
    : tokenizer_(T5Tokenizer::from_folder(resolve(options).tokenizer)) {
  ResolvedFolders folders = resolve(options);
  model_ = load_t5_encoder_model(folders.model, omni::parse_dtype(options.dtype),
                                 omni::parse_device(options.device));
  max_length_ = options.max_length > 0 ? options.max_length : tokenizer_.model_max_length();
  identity_ = make_identity("t5_encoder", folders, options, max_length_);
}

omni::TextEmbeddings T5TextEncoder::encode(const std::vector<std::string>& prompts) {
  TokenBatch batch = tokenizer_.encode_padded(prompts, max_length_);
  torch::NoGradGuard no_grad;
  return {model_->forward(batch.input_ids), at::Tensor(), batch.attention_mask};
}

omni::TextEncoderFactory clip_text_encoder_factory() {
  return {"clip_text", "CLIP text encoder (pooled output), from a diffusers folder",
          [](const omni::ConfigView& view, const omni::ComponentProvider&) {
            parse_text_encoder_options(view, false);
          },
          [](const omni::ConfigView& view, const omni::ComponentProvider&) {
            return std::make_unique<ClipTextEncoder>(parse_text_encoder_options(view, false));
          }};
}

omni::TextEncoderFactory t5_text_encoder_factory() {
  return {"t5_encoder", "T5 v1.1 text encoder (sequence output), from a diffusers folder",
          [](const omni::ConfigView& view, const omni::ComponentProvider&) {
            parse_text_encoder_options(view, true);
          },
          [](const omni::ConfigView& view, const omni::ComponentProvider&) {
            return std::make_unique<T5TextEncoder>(parse_text_encoder_options(view, true));
          }};
}

KontextPromptEmbeddings encode_kontext_prompts(omni::TextEncoder& clip, omni::TextEncoder& t5,
                                               const std::vector<std::string>& prompts,
                                               const std::vector<std::string>& prompts_2) {
  if (!prompts_2.empty() && prompts_2.size() != prompts.size()) {
    throw omni::Error(fmt::format("prompt encoding: {} prompts but {} second prompts",
                                  prompts.size(), prompts_2.size()));
  }
  omni::TextEmbeddings pooled = clip.encode(prompts);
  omni::TextEmbeddings sequence = t5.encode(prompts_2.empty() ? prompts : prompts_2);
  if (!pooled.pooled.defined()) {
    throw omni::Error("prompt encoding: the first text encoder gives no pooled output");
  }
  KontextPromptEmbeddings out;
  out.prompt_embeds = sequence.sequence;
  out.pooled_prompt_embeds = pooled.pooled;
  out.text_ids = at::zeros({sequence.sequence.size(1), 3},
                           at::TensorOptions().dtype(at::kFloat).device(sequence.sequence.device()));
  return out;
}

}  // namespace flux_kontext
