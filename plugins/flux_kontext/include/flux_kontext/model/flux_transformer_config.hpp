#pragma once
// The settings of FluxTransformer2DModel, as diffusers writes them to transformer/config.json.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>


namespace flux_kontext {

struct FluxTransformerConfig {
  std::int64_t patch_size = 1;
  std::int64_t in_channels = 64;
  std::int64_t out_channels = 64;  // config.json's null means in_channels
  std::int64_t num_layers = 19;
  std::int64_t num_single_layers = 38;
  std::int64_t attention_head_dim = 128;
  std::int64_t num_attention_heads = 24;
  std::int64_t joint_attention_dim = 4096;
  std::int64_t pooled_projection_dim = 768;
  bool guidance_embeds = true;
  std::vector<std::int64_t> axes_dims_rope{16, 56, 56};

  std::int64_t inner_dim() const { return num_attention_heads * attention_head_dim; }
  std::int64_t mlp_hidden_dim() const { return inner_dim() * 4; }  // mlp_ratio 4 everywhere
  std::int64_t output_channels() const { return patch_size * patch_size * out_channels; }

  // The shape of FLUX.1-dev / FLUX.1-Kontext-dev (11.9 B parameters).
  static FluxTransformerConfig flux1_dev();

  // Every key of diffusers' FluxTransformer2DModel must be present (out_channels may be
  // null); keys starting with '_' are bookkeeping and ignored; any other key is an error.
  // `source` names the file in messages. Throws omni::Error.
  static FluxTransformerConfig from_json(const nlohmann::json& json, const std::string& source);
  // Reads `folder`/config.json.
  static FluxTransformerConfig from_folder(const std::filesystem::path& folder);

  // Throws omni::Error naming `source` when the values are inconsistent (RoPE axes not
  // summing to the head size, odd axes, non-positive sizes).
  void validate(const std::string& source) const;
};

}  // namespace flux_kontext
