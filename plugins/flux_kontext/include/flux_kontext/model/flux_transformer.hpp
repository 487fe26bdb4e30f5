#pragma once
// FluxTransformer2DModel (FLUX.1 / FLUX.1 Kontext), with diffusers' module names so that a
// diffusers `transformer/` folder loads by lookup, and every linear an omni::LoraLinear so
// that LoRA adapters attach by module name.
#include <cstdint>
#include <filesystem>
#include <memory>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "flux_kontext/model/flux_double_block.hpp"
#include "flux_kontext/model/flux_embeddings.hpp"
#include "flux_kontext/model/flux_norms.hpp"
#include "flux_kontext/model/flux_single_block.hpp"
#include "flux_kontext/model/flux_transformer_config.hpp"

namespace omni {
class TensorSource;
}

namespace flux_kontext {

struct FluxTransformerInputs {
  at::Tensor hidden_states;          // [batch, image tokens, in_channels]: packed latents
  at::Tensor encoder_hidden_states;  // [batch, text tokens, joint_attention_dim]: T5
  at::Tensor pooled_projections;     // [batch, pooled_projection_dim]: pooled CLIP
  at::Tensor timestep;               // [batch] or scalar, in [0, 1] (x1000 inside)
  at::Tensor guidance;               // [batch] or scalar (x1000 inside); iff guidance_embeds
  at::Tensor img_ids;                // [image tokens, 3]
  at::Tensor txt_ids;                // [text tokens, 3]
};

// Multiply-accumulate work of one call, counted as 2 FLOPs per multiply-add.
struct FluxFlops {
  double forward = 0;
  // Backward with the base weights frozen: input gradients of every linear (as much as
  // forward) plus the two extra attention products (dQ/dK and dV/dP: twice the forward's).
  double backward_frozen = 0;
};

class FluxTransformer2DModelImpl : public torch::nn::Module {
 public:
  explicit FluxTransformer2DModelImpl(const FluxTransformerConfig& config);

  // Returns [batch, image tokens, patch_size^2 * out_channels] in the model's dtype.
  // Inputs are checked first (shapes, id lengths, presence of guidance): omni::Error before
  // any compute. Float inputs are converted to the model's dtype and device.
  at::Tensor forward(const FluxTransformerInputs& inputs);
  void check_inputs(const FluxTransformerInputs& inputs) const;

  // Recompute each block in backward instead of keeping its activations (training only:
  // applies while grad mode is enabled).
  void set_gradient_checkpointing(bool enabled) { gradient_checkpointing_ = enabled; }
  bool gradient_checkpointing() const { return gradient_checkpointing_; }

  const FluxTransformerConfig& config() const { return config_; }
  c10::ScalarType dtype() const { return x_embedder->weight.scalar_type(); }
  c10::Device device() const { return x_embedder->weight.device(); }
  FluxFlops flops(std::int64_t batch, std::int64_t image_tokens, std::int64_t text_tokens) const;

  TimeTextEmbedding time_text_embed{nullptr};
  omni::LoraLinear context_embedder{nullptr};
  omni::LoraLinear x_embedder{nullptr};
  torch::nn::ModuleList transformer_blocks{nullptr};
  torch::nn::ModuleList single_transformer_blocks{nullptr};
  AdaLayerNormContinuous norm_out{nullptr};
  omni::LoraLinear proj_out{nullptr};

 private:
  FluxTransformerConfig config_;
  std::vector<FluxDoubleBlock> double_blocks_;  // typed handles on transformer_blocks
  std::vector<FluxSingleBlock> single_blocks_;  // ... and single_transformer_blocks
  bool gradient_checkpointing_ = false;
};
TORCH_MODULE(FluxTransformer2DModel);

struct FluxTransformerLoadOptions {
  c10::ScalarType dtype = c10::kFloat;  // of the base weights
  c10::Device device = c10::Device(c10::kCPU);
};

// A model with PyTorch's default random initialization, built directly in `options.dtype`
// (a 12 B model is never materialized in fp32) and moved to `options.device`.
FluxTransformer2DModel make_flux_transformer(
                                             const FluxTransformerConfig& config, const FluxTransformerLoadOptions& options = {});

// Loads a diffusers `transformer/` folder (config.json plus one file or shards), or a BFL
// single-file checkpoint (flux1-kontext-dev.safetensors: names converted, fused q/k/v and
// linear1 split; the config is inferred from the tensor shapes), or a folder whose weights
// are in BFL layout. Every tensor must be used and every module tensor found.
FluxTransformer2DModel load_flux_transformer(
                                             const std::filesystem::path& folder_or_file, const FluxTransformerLoadOptions& options = {});

// Loads weights from `source` (diffusers or BFL names) into `model`, strictly.
void load_flux_transformer_weights(FluxTransformer2DModelImpl& model,
                                   std::shared_ptr<const omni::TensorSource> source,
                                   const FluxTransformerLoadOptions& options);

}  // namespace flux_kontext
