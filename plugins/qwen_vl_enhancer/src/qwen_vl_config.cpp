#include "qwen_vl/qwen_vl_config.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/json_config.hpp"

namespace qwen_vl {
namespace {

void require_positive(const omni::JsonConfig& json, const char* key, std::int64_t value) {
  if (value <= 0) json.fail(key, fmt::format("expected a value > 0, got {}", value));
}

// A sub-object as its own JsonConfig, so its messages name "file: key 'vision_config.x'".
omni::JsonConfig section(const omni::JsonConfig& parent, const std::string& key) {
  const nlohmann::json& value = parent.json().at(key);
  if (!value.is_object()) parent.fail(key, "expected an object, got " + value.dump());
  return omni::JsonConfig(value, parent.file().string() + ": " + key);
}

QwenTextConfig read_text(const omni::JsonConfig& json) {
  QwenTextConfig text;
  text.vocab_size = json.get<std::int64_t>("vocab_size");
  text.hidden_size = json.get<std::int64_t>("hidden_size");
  text.intermediate_size = json.get<std::int64_t>("intermediate_size");
  text.num_hidden_layers = json.get<std::int64_t>("num_hidden_layers");
  text.num_attention_heads = json.get<std::int64_t>("num_attention_heads");
  text.num_key_value_heads =
      json.get<std::int64_t>("num_key_value_heads", text.num_attention_heads);
  text.max_position_embeddings = json.get<std::int64_t>("max_position_embeddings", 128000);
  text.rms_norm_eps = json.get<double>("rms_norm_eps", text.rms_norm_eps);
  text.rope_theta = json.get<double>("rope_theta", text.rope_theta);
  text.tie_word_embeddings = json.get<bool>("tie_word_embeddings", false);
  const std::string act = json.get<std::string>("hidden_act", "silu");
  if (act != "silu" && act != "swish") json.fail("hidden_act", "expected \"silu\", got \"" + act + "\"");
  require_positive(json, "vocab_size", text.vocab_size);
  require_positive(json, "hidden_size", text.hidden_size);
  require_positive(json, "intermediate_size", text.intermediate_size);
  require_positive(json, "num_hidden_layers", text.num_hidden_layers);
  require_positive(json, "num_attention_heads", text.num_attention_heads);
  require_positive(json, "num_key_value_heads", text.num_key_value_heads);
  if (text.hidden_size % text.num_attention_heads != 0 || text.head_dim() % 2 != 0) {
    json.fail("num_attention_heads",
              fmt::format("hidden_size {} must split into heads of an even size, got {} heads",
                          text.hidden_size, text.num_attention_heads));
  }
  if (text.num_attention_heads % text.num_key_value_heads != 0) {
    json.fail("num_key_value_heads",
              fmt::format("expected a divisor of num_attention_heads {}, got {}",
                          text.num_attention_heads, text.num_key_value_heads));
  }
  // rope_scaling says "mrope" (real configs) or "default" (as transformers re-saves it);
  // either way only mrope_section changes the computation.
  if (!json.has("rope_scaling")) json.fail("rope_scaling", "missing (expected mrope_section)");
  omni::JsonConfig scaling = section(json, "rope_scaling");
  text.mrope_section = scaling.get<std::vector<std::int64_t>>("mrope_section");
  const std::int64_t sum = std::accumulate(text.mrope_section.begin(), text.mrope_section.end(),
                                           std::int64_t{0});
  if (text.mrope_section.size() != 3 || sum != text.head_dim() / 2 ||
      std::any_of(text.mrope_section.begin(), text.mrope_section.end(),
                  [](std::int64_t v) { return v < 0; })) {
    scaling.fail("mrope_section",
                 fmt::format("expected 3 sizes (temporal, height, width) summing to head_dim / 2 "
                             "= {}, got [{}]",
                             text.head_dim() / 2, fmt::join(text.mrope_section, ", ")));
  }
  return text;
}

QwenVisionConfig read_vision(const omni::JsonConfig& json) {
  QwenVisionConfig vision;
  vision.depth = json.get<std::int64_t>("depth", vision.depth);
  vision.hidden_size = json.get<std::int64_t>("hidden_size", vision.hidden_size);
  vision.intermediate_size = json.get<std::int64_t>("intermediate_size", vision.intermediate_size);
  vision.num_heads = json.get<std::int64_t>("num_heads", vision.num_heads);
  vision.in_channels = json.get<std::int64_t>(
      "in_channels", json.get<std::int64_t>("in_chans", vision.in_channels));
  vision.patch_size = json.get<std::int64_t>("patch_size", vision.patch_size);
  vision.temporal_patch_size =
      json.get<std::int64_t>("temporal_patch_size", vision.temporal_patch_size);
  vision.spatial_merge_size = json.get<std::int64_t>("spatial_merge_size", vision.spatial_merge_size);
  vision.window_size = json.get<std::int64_t>("window_size", vision.window_size);
  vision.out_hidden_size = json.get<std::int64_t>("out_hidden_size", vision.out_hidden_size);
  vision.fullatt_block_indexes =
      json.get<std::vector<std::int64_t>>("fullatt_block_indexes", vision.fullatt_block_indexes);
  const std::string act = json.get<std::string>("hidden_act", "silu");
  if (act != "silu" && act != "swish") json.fail("hidden_act", "expected \"silu\", got \"" + act + "\"");
  for (auto [key, value] : {std::pair{"depth", vision.depth},
                            std::pair{"hidden_size", vision.hidden_size},
                            std::pair{"intermediate_size", vision.intermediate_size},
                            std::pair{"num_heads", vision.num_heads},
                            std::pair{"in_channels", vision.in_channels},
                            std::pair{"patch_size", vision.patch_size},
                            std::pair{"temporal_patch_size", vision.temporal_patch_size},
                            std::pair{"spatial_merge_size", vision.spatial_merge_size},
                            std::pair{"out_hidden_size", vision.out_hidden_size}}) {
    require_positive(json, key, value);
  }
  if (vision.hidden_size % vision.num_heads != 0 || vision.head_dim() % 4 != 0) {
    json.fail("num_heads", fmt::format("hidden_size {} must split into heads of a multiple of 4, "
                                       "got {} heads", vision.hidden_size, vision.num_heads));
  }
  if (vision.merged_window() <= 0 ||
      vision.window_size % (vision.spatial_merge_size * vision.patch_size) != 0) {
    json.fail("window_size",
              fmt::format("expected a positive multiple of spatial_merge_size * patch_size = {}, "
                          "got {}", vision.spatial_merge_size * vision.patch_size,
                          vision.window_size));
  }
  return vision;
}

}  // namespace

bool QwenVisionConfig::is_full_attention(std::int64_t block) const {
  return std::find(fullatt_block_indexes.begin(), fullatt_block_indexes.end(), block) !=
         fullatt_block_indexes.end();
}

QwenVlConfig QwenVlConfig::from_file(const std::filesystem::path& config_json) {
  const omni::JsonConfig json = omni::JsonConfig::read(config_json);
  QwenVlConfig config;
  config.text = json.has("text_config") ? read_text(section(json, "text_config")) : read_text(json);
  if (!json.has("vision_config")) json.fail("vision_config", "missing (expected an object)");
  config.vision = read_vision(section(json, "vision_config"));
  if (config.vision.out_hidden_size != config.text.hidden_size) {
    json.fail("vision_config", fmt::format("out_hidden_size {} differs from the text hidden_size {}",
                                           config.vision.out_hidden_size, config.text.hidden_size));
  }
  config.image_token_id = json.get<std::int64_t>("image_token_id");
  config.video_token_id = json.get<std::int64_t>("video_token_id", -1);
  config.vision_start_token_id = json.get<std::int64_t>("vision_start_token_id");
  config.vision_end_token_id = json.get<std::int64_t>("vision_end_token_id", -1);
  // The text config may repeat eos_token_id; the top level is what generation_config mirrors.
  const omni::JsonConfig& eos_owner =
      json.has("eos_token_id") || !json.has("text_config") ? json : section(json, "text_config");
  if (eos_owner.has("eos_token_id")) {
    const nlohmann::json& eos = eos_owner.json().at("eos_token_id");
    if (eos.is_array()) {
      config.eos_token_ids = eos_owner.get<std::vector<std::int64_t>>("eos_token_id");
    } else {
      config.eos_token_ids = {eos_owner.get<std::int64_t>("eos_token_id")};
    }
  }
  for (auto [key, value] : {std::pair{"image_token_id", config.image_token_id},
                            std::pair{"vision_start_token_id", config.vision_start_token_id}}) {
    if (value < 0 || value >= config.text.vocab_size) {
      json.fail(key, fmt::format("expected an id below vocab_size {}, got {}",
                                 config.text.vocab_size, value));
    }
  }
  return config;
}

}  // namespace qwen_vl
