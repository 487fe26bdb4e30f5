#pragma once
// Qwen2_5_VLForConditionalGeneration: the vision tower (`visual.*`), the decoder (`model.*`)
// and the output projection (`lm_head`), with image embeddings spliced in at image_token_id.
#include <filesystem>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "qwen_vl/qwen2_decoder.hpp"
#include "qwen_vl/qwen_vision_tower.hpp"
#include "qwen_vl/qwen_vl_config.hpp"

namespace qwen_vl {

class QwenVlModelImpl : public torch::nn::Module {
 public:
  explicit QwenVlModelImpl(const QwenVlConfig& config);

  // The vision tower's output for all images: [sum(h*w) / merge^2, hidden].
  at::Tensor image_embeds(const at::Tensor& pixel_values, const at::Tensor& image_grid_thw);
  // Token embeddings with the rows at image_token_id replaced, in order, by image_embeds
  // (which may be undefined for a text-only prompt). input_ids [batch, tokens].
  at::Tensor embed(const at::Tensor& input_ids, const at::Tensor& image_embeds);
  // Logits [batch, tokens, vocab] (float32) for inputs_embeds at position_ids; with
  // `last_only`, [batch, 1, vocab] for the last position (generation needs no more, and a
  // long prompt's full logits take gigabytes with a 152k vocabulary).
  at::Tensor logits(const at::Tensor& inputs_embeds, const at::Tensor& position_ids,
                    KvCache* cache = nullptr, bool last_only = false);

  const QwenVlConfig& config() const { return config_; }
  QwenVisionTower& visual() { return visual_; }
  Qwen2Decoder& decoder() { return model_; }

 private:
  QwenVlConfig config_;
  QwenVisionTower visual_{nullptr};
  Qwen2Decoder model_{nullptr};
  torch::nn::Linear lm_head_{nullptr};
};
TORCH_MODULE(QwenVlModel);

// Builds the model from `folder`/config.json and loads every weight strictly from the folder's
// safetensors (single file or sharded index), converted to `dtype` on `device`.
QwenVlModel load_qwen_vl_model(const std::filesystem::path& folder, c10::ScalarType dtype,
                               c10::Device device);

}  // namespace qwen_vl
