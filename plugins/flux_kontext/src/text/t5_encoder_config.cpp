// Reading and checking T5EncoderModel's config.json, apart from the model so that the reader
// builds and is fuzzed on its own.
#include "flux_kontext/text/t5_encoder_model.hpp"

#include <utility>

#include <fmt/format.h>

#include "model/activations.hpp"
#include "omni/json_config.hpp"

namespace flux_kontext {

T5EncoderConfig T5EncoderConfig::from_file(const std::filesystem::path& config_json) {
  omni::JsonConfig json = omni::JsonConfig::read(config_json);
  T5EncoderConfig config;
  config.vocab_size = json.get<std::int64_t>("vocab_size");
  config.d_model = json.get<std::int64_t>("d_model");
  config.d_kv = json.get<std::int64_t>("d_kv");
  config.d_ff = json.get<std::int64_t>("d_ff");
  config.num_layers = json.get<std::int64_t>("num_layers");
  config.num_heads = json.get<std::int64_t>("num_heads");
  config.relative_attention_num_buckets =
      json.get<std::int64_t>("relative_attention_num_buckets", config.relative_attention_num_buckets);
  config.relative_attention_max_distance =
      json.get<std::int64_t>("relative_attention_max_distance", config.relative_attention_max_distance);
  config.layer_norm_epsilon = json.get<double>("layer_norm_epsilon", config.layer_norm_epsilon);
  // Current configs write dense_act_fn / is_gated_act; older ones only feed_forward_proj.
  std::string feed_forward = json.get<std::string>("feed_forward_proj", "relu");
  bool gated_from_name = feed_forward.rfind("gated-", 0) == 0;
  std::string act_from_name = gated_from_name ? feed_forward.substr(6) : feed_forward;
  if (act_from_name == "gelu") act_from_name = "gelu_new";  // upstream maps gated-gelu so
  config.is_gated_act = json.get<bool>("is_gated_act", gated_from_name);
  config.dense_act_fn = json.get<std::string>("dense_act_fn", act_from_name);
  parse_activation(config.dense_act_fn, config_json.string() + ": key 'dense_act_fn'");
  for (auto [key, value] : {std::pair{"vocab_size", config.vocab_size},
                            std::pair{"d_model", config.d_model}, std::pair{"d_kv", config.d_kv},
                            std::pair{"d_ff", config.d_ff}, std::pair{"num_layers", config.num_layers},
                            std::pair{"num_heads", config.num_heads},
                            std::pair{"relative_attention_num_buckets",
                                      config.relative_attention_num_buckets}}) {
    if (value <= 0) json.fail(key, fmt::format("expected a value > 0, got {}", value));
  }
  if (config.relative_attention_num_buckets % 2 != 0) {
    json.fail("relative_attention_num_buckets", "expected an even count (bidirectional buckets)");
  }
  return config;
}

}  // namespace flux_kontext
