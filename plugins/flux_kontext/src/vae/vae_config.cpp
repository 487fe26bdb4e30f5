#include "flux_kontext/vae/vae_config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/json_config.hpp"
#include "omni/error.hpp"

namespace flux_kontext {

VaeConfig VaeConfig::from_json(const nlohmann::json& json, const std::string& source) {
  const omni::JsonConfig reader(json, source);
  const std::string class_name = reader.get<std::string>("_class_name", "AutoencoderKL");
  if (class_name != "AutoencoderKL") {
    reader.fail("_class_name", fmt::format("expected \"AutoencoderKL\", got \"{}\"", class_name));
  }

  VaeConfig config;
  // The keys that fix tensor shapes are required: a default silently builds a model the
  // checkpoint does not fit, which then fails far from the cause.
  config.in_channels = reader.get<std::int64_t>("in_channels");
  config.out_channels = reader.get<std::int64_t>("out_channels");
  config.block_out_channels = reader.get<std::vector<std::int64_t>>("block_out_channels");
  config.layers_per_block = reader.get<std::int64_t>("layers_per_block");
  config.latent_channels = reader.get<std::int64_t>("latent_channels");
  config.norm_num_groups = reader.get<std::int64_t>("norm_num_groups");
  config.scaling_factor = reader.get<double>("scaling_factor");
  config.shift_factor = reader.get<double>("shift_factor", 0.0);
  config.mid_block_add_attention = reader.get<bool>("mid_block_add_attention", true);
  config.use_quant_conv = reader.get<bool>("use_quant_conv", true);
  config.use_post_quant_conv = reader.get<bool>("use_post_quant_conv", true);
  if (reader.has("sample_size") && json.at("sample_size").is_array()) {
    const std::vector<std::int64_t> sizes = reader.get<std::vector<std::int64_t>>("sample_size");
    if (sizes.empty()) reader.fail("sample_size", "expected an integer or a non-empty list");
    config.sample_size = sizes.front();
  } else {
    config.sample_size = reader.get<std::int64_t>("sample_size", 1024);
  }

  auto positive = [&](std::string_view key, std::int64_t value) {
    if (value <= 0) reader.fail(key, fmt::format("expected a value > 0, got {}", value));
  };
  positive("in_channels", config.in_channels);
  positive("out_channels", config.out_channels);
  positive("layers_per_block", config.layers_per_block);
  positive("latent_channels", config.latent_channels);
  positive("norm_num_groups", config.norm_num_groups);
  positive("sample_size", config.sample_size);
  if (config.block_out_channels.empty()) {
    reader.fail("block_out_channels", "expected at least one block");
  }
  if (config.block_out_channels.size() > 8) {
    reader.fail("block_out_channels", "more than 8 blocks is not a plausible autoencoder");
  }
  for (std::int64_t channels : config.block_out_channels) {
    if (channels <= 0 || channels % config.norm_num_groups != 0) {
      reader.fail("block_out_channels",
                  fmt::format("every entry must be a positive multiple of norm_num_groups ({}), "
                              "got {}",
                              config.norm_num_groups, config.block_out_channels));
    }
  }
  if (!(config.scaling_factor > 0)) {
    reader.fail("scaling_factor", fmt::format("expected a value > 0, got {}", config.scaling_factor));
  }

  const std::string act_fn = reader.get<std::string>("act_fn", "silu");
  if (act_fn != "silu") {
    reader.fail("act_fn", fmt::format("only \"silu\" is supported, got \"{}\"", act_fn));
  }
  const std::size_t blocks = config.block_out_channels.size();
  auto check_types = [&](std::string_view key, std::string_view expected) {
    const std::vector<std::string> types = reader.get<std::vector<std::string>>(key);
    if (types.size() != blocks) {
      reader.fail(key, fmt::format("has {} entries but block_out_channels has {}", types.size(),
                                   blocks));
    }
    for (const std::string& type : types) {
      if (type != expected) {
        reader.fail(key, fmt::format("only \"{}\" is supported, got \"{}\"", expected, type));
      }
    }
  };
  check_types("down_block_types", "DownEncoderBlock2D");
  check_types("up_block_types", "UpDecoderBlock2D");
  const std::int64_t scale = config.spatial_scale();
  if (config.sample_size % scale != 0) {
    reader.fail("sample_size", fmt::format("must be a multiple of the spatial scale {}, got {}",
                                           scale, config.sample_size));
  }
  return config;
}

VaeConfig VaeConfig::load(const std::filesystem::path& path) {
  const std::filesystem::path file =
      std::filesystem::is_directory(path) ? path / "config.json" : path;
  return from_json(omni::JsonConfig::read(file).json(), file.string());
}

}  // namespace flux_kontext
