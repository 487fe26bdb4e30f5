#pragma once
// The Qwen2.5-VL vision tower (Qwen2_5_VisionTransformerPretrainedModel): patch embedding,
// blocks with 2-D rotary attention (windowed except at fullatt_block_indexes), and the 2x2
// patch merger. Module names mirror the checkpoint's `visual.*` keys.
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "qwen_vl/qwen_layers.hpp"
#include "qwen_vl/qwen_vl_config.hpp"

namespace qwen_vl {

// Upstream's window partition (get_window_index). The tower works in "window order": windows
// of merged_window x merged_window merged tokens tiled from each image's top-left (right and
// bottom ones may be partial), windows row-major, merged tokens row-major inside a window,
// the 4 patches of a merged token kept together.
struct VisionWindows {
  // window_index[k]: the raster-order merged token at window-order slot k (all images).
  at::Tensor window_index;  // int64 [merged tokens]
  // Patch offsets where the windows (window order) and the images start and end; each begins
  // with 0 and ends with the patch count.
  std::vector<std::int64_t> window_bounds;
  std::vector<std::int64_t> image_bounds;
};

VisionWindows vision_windows(const at::Tensor& grid_thw, std::int64_t merge_size,
                             std::int64_t merged_window);

// Rows of `x` ([patches, ...], raster patch order) in window order, and back.
at::Tensor to_window_order(const at::Tensor& x, const at::Tensor& window_index,
                           std::int64_t merge_unit);
at::Tensor from_window_order(const at::Tensor& x, const at::Tensor& window_index,
                             std::int64_t merge_unit);

// The (row, col) of every patch in raster patch order, in patch units: int64 [patches, 2].
at::Tensor vision_patch_positions(const at::Tensor& grid_thw, std::int64_t merge_size);

struct QwenVisionBlockImpl : torch::nn::Module {
  explicit QwenVisionBlockImpl(const QwenVisionConfig& config);
  // x: [patches, hidden]; attention stays within [bounds[i], bounds[i+1]).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const std::vector<std::int64_t>& bounds);
  std::int64_t heads;
  QwenRMSNorm norm1{nullptr}, norm2{nullptr};
  std::shared_ptr<torch::nn::Module> attn;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  QwenGatedMlp mlp{nullptr};
};
TORCH_MODULE(QwenVisionBlock);

class QwenVisionTowerImpl : public torch::nn::Module {
 public:
  explicit QwenVisionTowerImpl(const QwenVisionConfig& config);
  // pixel_values [patches, C*T*P*P] from the image processor, grid_thw int64 [images, 3];
  // returns the merged tokens [patches / merge^2, out_hidden_size], image by image, raster
  // order.
  at::Tensor forward(const at::Tensor& pixel_values, const at::Tensor& grid_thw);
  const QwenVisionConfig& config() const { return config_; }

 private:
  QwenVisionConfig config_;
  at::Tensor patch_weight_;  // patch_embed.proj.weight [hidden, C, T, P, P]
  torch::nn::ModuleList blocks_{nullptr};
  QwenRMSNorm ln_q_{nullptr};
  torch::nn::Linear merger_fc1_{nullptr}, merger_fc2_{nullptr};
};
TORCH_MODULE(QwenVisionTower);

}  // namespace qwen_vl
