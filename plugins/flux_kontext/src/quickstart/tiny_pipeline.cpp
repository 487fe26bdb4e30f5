#include "flux_kontext/quickstart/tiny_pipeline.hpp"

#include <fstream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include "flux_kontext/vae/autoencoder_kl.hpp"
#include "flux_kontext/text/clip_text_model.hpp"
#include "flux_kontext/model/flux_transformer.hpp"
#include "flux_kontext/text/t5_encoder_model.hpp"
#include "flux_kontext/quickstart/tiny_tokenizers.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {
namespace {

using nlohmann::ordered_json;

void write_json(const std::filesystem::path& file, const ordered_json& json) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file);
  out << json.dump(2) << "\n";
  if (!out) throw omni::Error(fmt::format("cannot write '{}'", file.string()));
}

void write_weights(const std::filesystem::path& file, torch::nn::Module& module) {
  omni::NamedTensors tensors;
  for (const auto& item : module.named_parameters()) tensors.emplace_back(item.key(), item.value());
  omni::save_safetensors(file, tensors);
}

// Sizes chain together: CLIP's width is the transformer's pooled_projection_dim, T5's
// d_model its joint_attention_dim.
constexpr int kPooledDim = 20;
constexpr int kJointDim = 24;

}  // namespace

void write_tiny_kontext_pipeline(const std::filesystem::path& folder, std::uint64_t seed) {
  std::filesystem::create_directories(folder);
  at::manual_seed(seed);
  write_json(folder / "model_index.json",
             {{"_class_name", "FluxKontextPipeline"},
              {"_diffusers_version", "0.34.0"},
              {"scheduler", {"diffusers", "FlowMatchEulerDiscreteScheduler"}},
              {"text_encoder", {"transformers", "CLIPTextModel"}},
              {"text_encoder_2", {"transformers", "T5EncoderModel"}},
              {"tokenizer", {"transformers", "CLIPTokenizer"}},
              {"tokenizer_2", {"transformers", "T5TokenizerFast"}},
              {"transformer", {"diffusers", "FluxTransformer2DModel"}},
              {"vae", {"diffusers", "AutoencoderKL"}}});

  const ordered_json transformer_config = {
      {"_class_name", "FluxTransformer2DModel"}, {"attention_head_dim", 16},
      {"axes_dims_rope", {4, 6, 6}},             {"guidance_embeds", true},
      {"in_channels", 64},                       {"joint_attention_dim", kJointDim},
      {"num_attention_heads", 2},                {"num_layers", 1},
      {"num_single_layers", 2},                  {"out_channels", nullptr},
      {"patch_size", 1},                         {"pooled_projection_dim", kPooledDim}};
  write_json(folder / "transformer" / "config.json", transformer_config);
  FluxTransformer2DModel transformer(FluxTransformerConfig::from_json(transformer_config, "tiny"));
  write_weights(folder / "transformer" / "diffusion_pytorch_model.safetensors", *transformer);

  const ordered_json vae_config = {
      {"_class_name", "AutoencoderKL"},
      {"act_fn", "silu"},
      {"block_out_channels", {8, 16, 16, 16}},
      {"down_block_types", {"DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D",
                            "DownEncoderBlock2D"}},
      {"force_upcast", true},
      {"in_channels", 3},
      {"latent_channels", 16},
      {"latents_mean", nullptr},
      {"latents_std", nullptr},
      {"layers_per_block", 1},
      {"mid_block_add_attention", true},
      {"norm_num_groups", 4},
      {"out_channels", 3},
      {"sample_size", 32},
      {"scaling_factor", 0.3611},
      {"shift_factor", 0.1159},
      {"up_block_types", {"UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D",
                          "UpDecoderBlock2D"}},
      {"use_post_quant_conv", false},
      {"use_quant_conv", false}};
  write_json(folder / "vae" / "config.json", vae_config);
  AutoencoderKL vae(VaeConfig::from_json(vae_config, "tiny"));
  write_weights(folder / "vae" / "diffusion_pytorch_model.safetensors", *vae);

  write_json(folder / "scheduler" / "scheduler_config.json",
             {{"_class_name", "FlowMatchEulerDiscreteScheduler"},
              {"base_image_seq_len", 256},
              {"base_shift", 0.5},
              {"max_image_seq_len", 4096},
              {"max_shift", 1.15},
              {"num_train_timesteps", 1000},
              {"shift", 3.0},
              {"use_dynamic_shifting", true}});

  TinyTokenizerSizes sizes = write_tiny_tokenizers(folder);
  const ordered_json clip_config = {
      {"model_type", "clip_text_model"}, {"vocab_size", sizes.clip_vocab_size},
      {"hidden_size", kPooledDim},       {"intermediate_size", 40},
      {"num_hidden_layers", 2},          {"num_attention_heads", 2},
      {"max_position_embeddings", 77},   {"hidden_act", "quick_gelu"},
      {"eos_token_id", sizes.clip_vocab_size - 1}};  // the tiny vocabulary ends with its EOS
  write_json(folder / "text_encoder" / "config.json", clip_config);
  ClipTextModel clip(ClipTextConfig::from_file(folder / "text_encoder" / "config.json"));
  write_weights(folder / "text_encoder" / "model.safetensors", *clip);

  const ordered_json t5_config = {
      {"model_type", "t5"}, {"vocab_size", sizes.t5_vocab_size}, {"d_model", kJointDim},
      {"d_kv", 8},          {"d_ff", 48},                        {"num_layers", 2},
      {"num_heads", 3},     {"feed_forward_proj", "gated-gelu"}};
  write_json(folder / "text_encoder_2" / "config.json", t5_config);
  T5EncoderModel t5(T5EncoderConfig::from_file(folder / "text_encoder_2" / "config.json"));
  write_weights(folder / "text_encoder_2" / "model.safetensors", *t5);
}

}  // namespace flux_kontext
