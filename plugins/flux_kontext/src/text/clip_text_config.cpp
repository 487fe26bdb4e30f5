// Reading and checking CLIPTextModel's config.json, apart from the model so that the reader
// builds and is fuzzed on its own.
#include "flux_kontext/text/clip_text_model.hpp"

#include <utility>

#include <fmt/format.h>

#include "model/activations.hpp"
#include "omni/json_config.hpp"

namespace flux_kontext {

ClipTextConfig ClipTextConfig::from_file(const std::filesystem::path& config_json) {
  omni::JsonConfig json = omni::JsonConfig::read(config_json);
  ClipTextConfig config;
  config.vocab_size = json.get<std::int64_t>("vocab_size");
  config.hidden_size = json.get<std::int64_t>("hidden_size");
  config.intermediate_size = json.get<std::int64_t>("intermediate_size");
  config.num_hidden_layers = json.get<std::int64_t>("num_hidden_layers");
  config.num_attention_heads = json.get<std::int64_t>("num_attention_heads");
  config.max_position_embeddings = json.get<std::int64_t>("max_position_embeddings", 77);
  config.hidden_act = json.get<std::string>("hidden_act", config.hidden_act);
  config.layer_norm_eps = json.get<double>("layer_norm_eps", config.layer_norm_eps);
  config.eos_token_id = json.get<std::int64_t>("eos_token_id", config.eos_token_id);
  parse_activation(config.hidden_act, config_json.string() + ": key 'hidden_act'");
  for (auto [key, value] : {std::pair{"vocab_size", config.vocab_size},
                            std::pair{"hidden_size", config.hidden_size},
                            std::pair{"intermediate_size", config.intermediate_size},
                            std::pair{"num_hidden_layers", config.num_hidden_layers},
                            std::pair{"num_attention_heads", config.num_attention_heads},
                            std::pair{"max_position_embeddings", config.max_position_embeddings}}) {
    if (value <= 0) json.fail(key, fmt::format("expected a value > 0, got {}", value));
  }
  if (config.hidden_size % config.num_attention_heads != 0) {
    json.fail("num_attention_heads",
              fmt::format("hidden_size {} is not divisible by num_attention_heads {}",
                          config.hidden_size, config.num_attention_heads));
  }
  return config;
}

}  // namespace flux_kontext
