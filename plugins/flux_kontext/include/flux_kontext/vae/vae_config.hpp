#pragma once
// The architecture of a diffusers AutoencoderKL, read from its config.json.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>


namespace flux_kontext {

struct VaeConfig {
  std::int64_t in_channels = 3;
  std::int64_t out_channels = 3;
  std::vector<std::int64_t> block_out_channels;  // encoder order; the decoder reverses it
  std::int64_t layers_per_block = 1;             // decoder blocks hold one more resnet
  std::int64_t latent_channels = 16;
  std::int64_t norm_num_groups = 32;
  bool mid_block_add_attention = true;
  bool use_quant_conv = true;       // diffusers' default when the key is absent
  bool use_post_quant_conv = true;  // likewise
  std::int64_t sample_size = 1024;  // the default tile size in pixels for tiled encode/decode
  double scaling_factor = 0.18215;
  double shift_factor = 0.0;  // `null` in the file reads as 0

  // Pixels per latent pixel: 2^(number of blocks - 1).
  std::int64_t spatial_scale() const {
    return std::int64_t{1} << (block_out_channels.size() - 1);
  }

  // Checks types, required keys and consistency; every error names `source` and the key.
  static VaeConfig from_json(const nlohmann::json& json, const std::string& source);
  // `path`: a config.json, or a folder holding one (a diffusers `vae/` folder).
  static VaeConfig load(const std::filesystem::path& path);
};

}  // namespace flux_kontext
