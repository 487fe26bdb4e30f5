#include "flux_kontext/model/flux_transformer_config.hpp"

#include <numeric>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "omni/error.hpp"
#include "omni/model_folder.hpp"

namespace flux_kontext {
namespace {

const std::set<std::string>& known_keys() {
  static const std::set<std::string> keys{
      "patch_size",         "in_channels",         "out_channels",
      "num_layers",         "num_single_layers",   "attention_head_dim",
      "num_attention_heads", "joint_attention_dim", "pooled_projection_dim",
      "guidance_embeds",    "axes_dims_rope"};
  return keys;
}

const nlohmann::json& required(const nlohmann::json& json, const char* key,
                               const std::string& source) {
  auto found = json.find(key);
  if (found == json.end()) {
    throw omni::Error(fmt::format("{}: FluxTransformer2DModel config has no '{}'", source, key));
  }
  return *found;
}

std::int64_t integer(const nlohmann::json& json, const char* key, const std::string& source) {
  const nlohmann::json& value = required(json, key, source);
  if (!value.is_number_integer()) {
    throw omni::Error(fmt::format("{}: '{}' must be an integer, not {}", source, key,
                                  value.dump()));
  }
  return value.get<std::int64_t>();
}

}  // namespace

FluxTransformerConfig FluxTransformerConfig::flux1_dev() { return FluxTransformerConfig{}; }

FluxTransformerConfig FluxTransformerConfig::from_json(const nlohmann::json& json,
                                                       const std::string& source) {
  if (!json.is_object()) {
    throw omni::Error(fmt::format("{}: a model config must be a JSON object", source));
  }
  // A transformer folder of another model (SD3, Flux2, ...) has its own class name; say so
  // instead of failing later on some missing key.
  if (auto name = json.find("_class_name"); name != json.end() && name->is_string() &&
                                            name->get<std::string>() != "FluxTransformer2DModel") {
    throw omni::Error(fmt::format("{}: expected a FluxTransformer2DModel config, found '{}'",
                                  source, name->get<std::string>()));
  }
  for (const auto& item : json.items()) {
    if (!item.key().empty() && item.key()[0] == '_') continue;
    if (known_keys().count(item.key()) == 0) {
      throw omni::Error(fmt::format("{}: unknown FluxTransformer2DModel config key '{}' "
                                    "(known: {})",
                                    source, item.key(), fmt::join(known_keys(), ", ")));
    }
  }
  FluxTransformerConfig config;
  config.patch_size = integer(json, "patch_size", source);
  config.in_channels = integer(json, "in_channels", source);
  const nlohmann::json& out = required(json, "out_channels", source);
  config.out_channels = out.is_null() ? config.in_channels : integer(json, "out_channels", source);
  config.num_layers = integer(json, "num_layers", source);
  config.num_single_layers = integer(json, "num_single_layers", source);
  config.attention_head_dim = integer(json, "attention_head_dim", source);
  config.num_attention_heads = integer(json, "num_attention_heads", source);
  config.joint_attention_dim = integer(json, "joint_attention_dim", source);
  config.pooled_projection_dim = integer(json, "pooled_projection_dim", source);
  const nlohmann::json& guidance = required(json, "guidance_embeds", source);
  if (!guidance.is_boolean()) {
    throw omni::Error(fmt::format("{}: 'guidance_embeds' must be true or false, not {}", source,
                                  guidance.dump()));
  }
  config.guidance_embeds = guidance.get<bool>();
  const nlohmann::json& axes = required(json, "axes_dims_rope", source);
  if (!axes.is_array() || axes.empty()) {
    throw omni::Error(fmt::format("{}: 'axes_dims_rope' must be a list of integers, not {}",
                                  source, axes.dump()));
  }
  config.axes_dims_rope.clear();
  for (const nlohmann::json& axis : axes) {
    if (!axis.is_number_integer()) {
      throw omni::Error(fmt::format("{}: 'axes_dims_rope' must be a list of integers, not {}",
                                    source, axes.dump()));
    }
    config.axes_dims_rope.push_back(axis.get<std::int64_t>());
  }
  config.validate(source);
  return config;
}

FluxTransformerConfig FluxTransformerConfig::from_folder(const std::filesystem::path& folder) {
  const omni::ModelFolder model = omni::ModelFolder::open(folder.string());
  return from_json(model.config(""), (model.root() / "config.json").string());
}

void FluxTransformerConfig::validate(const std::string& source) const {
  const std::pair<const char*, std::int64_t> sizes[] = {
      {"patch_size", patch_size},
      {"in_channels", in_channels},
      {"out_channels", out_channels},
      {"attention_head_dim", attention_head_dim},
      {"num_attention_heads", num_attention_heads},
      {"joint_attention_dim", joint_attention_dim},
      {"pooled_projection_dim", pooled_projection_dim}};
  for (const auto& [key, value] : sizes) {
    if (value <= 0) throw omni::Error(fmt::format("{}: '{}' must be > 0, got {}", source, key, value));
  }
  if (num_layers < 0 || num_single_layers < 0) {
    throw omni::Error(fmt::format("{}: 'num_layers' and 'num_single_layers' must be >= 0", source));
  }
  if (axes_dims_rope.size() != 3) {
    // The position ids are (image index, row, column): one rotary axis each.
    throw omni::Error(fmt::format("{}: 'axes_dims_rope' must have 3 entries (one per position "
                                  "id axis), got {}",
                                  source, axes_dims_rope));
  }
  for (std::int64_t axis : axes_dims_rope) {
    if (axis <= 0 || axis % 2 != 0) {
      throw omni::Error(fmt::format("{}: every entry of 'axes_dims_rope' must be even and > 0 "
                                    "(rotations act on pairs), got {}",
                                    source, axes_dims_rope));
    }
  }
  const std::int64_t total = std::accumulate(axes_dims_rope.begin(), axes_dims_rope.end(),
                                             std::int64_t{0});
  if (total != attention_head_dim) {
    throw omni::Error(fmt::format("{}: 'axes_dims_rope' {} sums to {}, but the rotary "
                                  "embedding must cover the attention head ('attention_head_dim' "
                                  "{})",
                                  source, axes_dims_rope, total, attention_head_dim));
  }
}

}  // namespace flux_kontext
