#pragma once
// CLIPTextModel (the `text_encoder` of FLUX.1), with the upstream parameter names
// (`text_model.embeddings.*`, `text_model.encoder.layers.N.*`, `text_model.final_layer_norm`).
#include <filesystem>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include "omni/lora_linear.hpp"

namespace flux_kontext {

struct ClipTextConfig {
  std::int64_t vocab_size = 49408;
  std::int64_t hidden_size = 768;
  std::int64_t intermediate_size = 3072;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t max_position_embeddings = 77;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  std::int64_t eos_token_id = 2;

  // Reads `config.json`; missing or inconsistent keys are errors naming the file.
  static ClipTextConfig from_file(const std::filesystem::path& config_json);
};

struct ClipTextOutput {
  at::Tensor last_hidden_state;  // [B, L, hidden]
  at::Tensor pooler_output;      // [B, hidden]
  at::Tensor pooled_position;    // [B] int64
};

class ClipTextModelImpl : public torch::nn::Module {
 public:
  explicit ClipTextModelImpl(const ClipTextConfig& config);
  // `input_ids` [B, L] int64, L <= max_position_embeddings. Only the causal mask is used,
  // as the Flux pipeline calls the model.
  ClipTextOutput forward(const at::Tensor& input_ids);

  // The position whose hidden state is pooled, by upstream's rule: when every row's largest
  // id is 49407 (the real end-of-text), its first occurrence; otherwise the first position
  // of the config's eos_token_id (0 when absent).
  at::Tensor pooled_positions(const at::Tensor& input_ids) const;

  const ClipTextConfig& config() const { return config_; }

 private:
  ClipTextConfig config_;
  torch::nn::Embedding token_embedding{nullptr};
  torch::nn::Embedding position_embedding{nullptr};
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};
};

TORCH_MODULE(ClipTextModel);

// Builds the model from a component folder (config.json + model.safetensors or its sharded
// index) with strict loading, in `dtype` on `device`.
ClipTextModel load_clip_text_model(const std::filesystem::path& folder,
                                   c10::ScalarType dtype, c10::Device device);

}  // namespace flux_kontext
