#pragma once
// Black Forest Labs' single-file Flux checkpoints (flux1-kontext-dev.safetensors, as ComfyUI
// users have them: `double_blocks.N.img_attn.qkv.weight`, ...), seen under diffusers' names.
// The conversion is the one of diffusers' convert_flux_transformer_checkpoint_to_diffusers:
// fused q/k/v (and single blocks' q/k/v/mlp `linear1`) split along the output dimension,
// and the final layer's (shift, scale) modulation reordered to diffusers' (scale, shift).
#include <memory>
#include <optional>
#include <string>

#include "flux_kontext/model/flux_transformer_config.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {

// The prefix under which `source` holds a BFL Flux transformer ("" or, in some ComfyUI
// files, "model.diffusion_model."); nothing when it does not look like one.
std::optional<std::string> bfl_prefix(const omni::TensorSource& source);

// A view of the BFL checkpoint `bfl` under diffusers names. Split tensors are narrow views of
// the file's mapping (no copy); the reordered modulation is a copy. Names it does not know
// pass through unchanged (so strict loading reports them as unexpected).
std::shared_ptr<const omni::TensorSource> bfl_as_diffusers(
                                                           std::shared_ptr<const omni::TensorSource> bfl, const std::string& prefix = "");

// The FluxTransformer2DModel config that a BFL checkpoint implies: sizes from the tensor
// shapes; axes_dims_rope (not stored) is FLUX.1's (16, 56, 56), which needs head size 128.
FluxTransformerConfig config_from_bfl(const omni::TensorSource& source,
                                      const std::string& prefix = "");

}  // namespace flux_kontext
