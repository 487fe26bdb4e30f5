// The model configs (config.json of each diffusers / transformers folder). The same bytes are
// read as every model's config; whatever a reader accepts must be a shape its model can be
// built with, since the model constructors trust the config.
#include <numeric>
#include <string>

#include "flux_kontext/model/flux_transformer_config.hpp"
#include "flux_kontext/text/clip_text_model.hpp"
#include "flux_kontext/text/t5_encoder_model.hpp"
#include "flux_kontext/vae/vae_config.hpp"
#include "fuzz_targets.hpp"
#include "omni/error.hpp"
#include "qwen_vl/qwen_vl_config.hpp"

namespace omni::fuzz {
namespace {

std::int64_t sum(const std::vector<std::int64_t>& values) {
  return std::accumulate(values.begin(), values.end(), std::int64_t{0});
}

void check_flux(const flux_kontext::FluxTransformerConfig& c) {
  require(c.patch_size > 0 && c.in_channels > 0 && c.num_attention_heads > 0 &&
              c.attention_head_dim > 0 && c.joint_attention_dim > 0 &&
              c.pooled_projection_dim > 0 && c.num_layers >= 0 && c.num_single_layers >= 0,
          "Flux config accepted with a non-positive size");
  require(sum(c.axes_dims_rope) == c.attention_head_dim,
          "Flux config accepted with RoPE axes not summing to the head size");
  for (std::int64_t axis : c.axes_dims_rope) {
    require(axis > 0 && axis % 2 == 0, "Flux config accepted with an empty or odd RoPE axis");
  }
}

void check_vae(const flux_kontext::VaeConfig& c) {
  require(!c.block_out_channels.empty() && c.block_out_channels.size() <= 8,
          "VAE config accepted with no blocks or more than the scale can hold");
  require(c.norm_num_groups > 0 && c.in_channels > 0 && c.out_channels > 0 &&
              c.latent_channels > 0 && c.layers_per_block >= 0 && c.sample_size > 0,
          "VAE config accepted with a non-positive size");
  for (std::int64_t channels : c.block_out_channels) {
    require(channels > 0 && channels % c.norm_num_groups == 0,
            "VAE config accepted with block channels GroupNorm cannot split");
  }
}

void check_clip(const flux_kontext::ClipTextConfig& c) {
  require(c.vocab_size > 0 && c.hidden_size > 0 && c.intermediate_size > 0 &&
              c.num_hidden_layers >= 0 && c.num_attention_heads > 0 &&
              c.max_position_embeddings > 0,
          "CLIP config accepted with a non-positive size");
  require(c.hidden_size % c.num_attention_heads == 0,
          "CLIP config accepted with a hidden size the heads do not divide");
}

void check_t5(const flux_kontext::T5EncoderConfig& c) {
  require(c.vocab_size > 0 && c.d_model > 0 && c.d_kv > 0 && c.d_ff > 0 && c.num_layers >= 0 &&
              c.num_heads > 0 && c.relative_attention_num_buckets > 0 &&
              c.relative_attention_max_distance > 0,
          "T5 config accepted with a non-positive size");
}

void check_qwen(const qwen_vl::QwenVlConfig& c) {
  const qwen_vl::QwenTextConfig& t = c.text;
  require(t.vocab_size > 0 && t.hidden_size > 0 && t.intermediate_size > 0 &&
              t.num_hidden_layers >= 0 && t.num_attention_heads > 0 &&
              t.num_key_value_heads > 0 && t.max_position_embeddings > 0,
          "Qwen2.5-VL config accepted with a non-positive text size");
  require(t.hidden_size % t.num_attention_heads == 0 &&
              t.num_attention_heads % t.num_key_value_heads == 0,
          "Qwen2.5-VL config accepted with heads that do not divide the sizes");
  require(sum(t.mrope_section) * 2 == t.head_dim(),
          "Qwen2.5-VL config accepted with an M-RoPE section not summing to head_dim / 2");
  const qwen_vl::QwenVisionConfig& v = c.vision;
  require(v.depth >= 0 && v.hidden_size > 0 && v.num_heads > 0 && v.patch_size > 0 &&
              v.temporal_patch_size > 0 && v.spatial_merge_size > 0 && v.in_channels > 0 &&
              v.out_hidden_size > 0 && v.intermediate_size > 0,
          "Qwen2.5-VL config accepted with a non-positive vision size");
  require(v.hidden_size % v.num_heads == 0,
          "Qwen2.5-VL config accepted with a vision hidden size the heads do not divide");
  require(v.merged_window() > 0, "Qwen2.5-VL config accepted with a window under one merged patch");
}

}  // namespace

void model_config_json(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path folder = fresh_scratch_folder();
  const std::filesystem::path file = folder / "config.json";
  write_file(file, std::string_view(reinterpret_cast<const char*>(data), size));
  attempt([&] { check_flux(flux_kontext::FluxTransformerConfig::from_folder(folder)); });
  attempt([&] { check_vae(flux_kontext::VaeConfig::load(file)); });
  attempt([&] { check_clip(flux_kontext::ClipTextConfig::from_file(file)); });
  attempt([&] { check_t5(flux_kontext::T5EncoderConfig::from_file(file)); });
  attempt([&] { check_qwen(qwen_vl::QwenVlConfig::from_file(file)); });
}

}  // namespace omni::fuzz
