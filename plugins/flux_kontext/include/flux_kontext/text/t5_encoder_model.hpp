#pragma once
// T5EncoderModel (T5 v1.1, the `text_encoder_2` of FLUX.1), with the upstream parameter names
// (`shared`, `encoder.block.N.layer.{0,1}.*`, `encoder.final_layer_norm`).
#include <filesystem>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>

#include "omni/lora_linear.hpp"

namespace flux_kontext {

struct T5EncoderConfig {
  std::int64_t vocab_size = 32128;
  std::int64_t d_model = 4096;
  std::int64_t d_kv = 64;
  std::int64_t d_ff = 10240;
  std::int64_t num_layers = 24;
  std::int64_t num_heads = 64;
  std::int64_t relative_attention_num_buckets = 32;
  std::int64_t relative_attention_max_distance = 128;
  double layer_norm_epsilon = 1e-6;
  std::string dense_act_fn = "gelu_new";
  bool is_gated_act = true;

  static T5EncoderConfig from_file(const std::filesystem::path& config_json);
};

class T5EncoderModelImpl : public torch::nn::Module {
 public:
  explicit T5EncoderModelImpl(const T5EncoderConfig& config);
  // `input_ids` [B, L]; `attention_mask` [B, L] (1 = attend) or undefined for none. Returns
  // the last hidden state [B, L, d_model]. Norms and the softmax run in fp32 whatever the
  // weights' dtype, so fp16 weights do not overflow.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {});

  // Upstream's bidirectional bucketing of key_position - query_position.
  static at::Tensor relative_position_bucket(const at::Tensor& relative_position,
                                             std::int64_t num_buckets, std::int64_t max_distance);

  const T5EncoderConfig& config() const { return config_; }

 private:
  at::Tensor position_bias(std::int64_t length, const c10::Device& device);

  T5EncoderConfig config_;
  torch::nn::Embedding shared{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  at::Tensor final_layer_norm_weight;
  torch::nn::Embedding relative_attention_bias{nullptr};  // block 0's, shared by all blocks
};

TORCH_MODULE(T5EncoderModel);

// Builds the model from a component folder (config.json + model.safetensors or its sharded
// index), accepting the tied embedding under either of its names.
T5EncoderModel load_t5_encoder_model(const std::filesystem::path& folder,
                                     c10::ScalarType dtype, c10::Device device);

}  // namespace flux_kontext
