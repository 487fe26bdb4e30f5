#pragma once
// The Euler flow-matching sampling loop of diffusers' FluxKontextPipeline, for the predict
// stage and validation: the target tokens start as noise; at each step the transformer sees
// them followed by the (clean) control tokens, and only its output for the target tokens
// moves the latents: latents += (sigma_next - sigma) * v.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "flux_kontext/vae/autoencoder_kl.hpp"
#include "flux_kontext/sampling/flow_match_scheduler.hpp"
#include "flux_kontext/model/flux_transformer.hpp"

namespace flux_kontext {

// A velocity model: the transformer, or anything with its signature (a test double, a
// model behind a LoRA switch). Gets every token; returns [batch, tokens, channels].
using FluxVelocityModel = std::function<at::Tensor(const FluxTransformerInputs& inputs)>;

struct FluxPromptEmbeds {
  at::Tensor encoder_hidden_states;  // [batch, text tokens, joint_attention_dim]
  at::Tensor pooled_projections;     // [batch, pooled_projection_dim]
  at::Tensor txt_ids;                // [text tokens, 3]; undefined: zeros
};

struct FluxSamplingInputs {
  at::Tensor initial_noise;   // [batch, target tokens, channels]: packed noise at sigma 1
  at::Tensor control_tokens;  // [batch, control tokens, channels] normalized latents; may be undefined
  at::Tensor img_ids;         // [target + control tokens, 3]: target ids first
  FluxPromptEmbeds prompt;
  std::optional<FluxPromptEmbeds> negative_prompt;  // used when true_cfg_scale > 1
};

struct FluxSamplingOptions {
  std::int64_t steps = 28;
  // The distilled guidance fed to the guidance embedding (models with guidance_embeds).
  double guidance_scale = 3.5;
  bool guidance_embeds = true;  // the overload taking the transformer reads its config
  // True classifier-free guidance: v = v_neg + scale * (v_pos - v_neg), at twice the cost;
  // on when > 1 and a negative prompt is given.
  double true_cfg_scale = 1.0;
  // Sigmas before shifting; empty: the Flux pipelines' linspace(1, 1/steps, steps).
  std::vector<double> sigmas;
  std::function<void(std::int64_t step, std::int64_t steps)> on_step;  // after each step
};

// Runs the loop; returns the final packed target latents [batch, target tokens, channels]
// in float32. Sets `scheduler`'s timesteps (mu from the target token count). Inputs are
// checked before the first model call; throws omni::Error naming the bad one.
at::Tensor sample_flux(const FluxVelocityModel& model,
                       FlowMatchEulerDiscreteScheduler& scheduler,
                       const FluxSamplingInputs& inputs,
                       const FluxSamplingOptions& options);

// The same with the transformer itself; guidance_embeds comes from its config.
at::Tensor sample_flux(FluxTransformer2DModelImpl& transformer,
                       FlowMatchEulerDiscreteScheduler& scheduler,
                       const FluxSamplingInputs& inputs,
                       FluxSamplingOptions options);

// Packed normalized latents of an image of `height` x `width` pixels -> image in about
// [-1, 1]: unpack to [B, C, H/s, W/s], undo the normalization, decode.
at::Tensor decode_packed_latents(AutoencoderKLImpl& vae, const at::Tensor& packed,
                                 std::int64_t height, std::int64_t width);

// Image [B, C, H, W] in [-1, 1] -> packed normalized latents of its VAE mean, as Kontext
// conditions on control images.
at::Tensor encode_packed_latents(AutoencoderKLImpl& vae, const at::Tensor& image);

}  // namespace flux_kontext
