#pragma once
// The conditioning embedding of the Flux transformer: sinusoidal timestep (and guidance)
// features through small MLPs, plus the pooled CLIP text embedding, summed into `temb`.
#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "omni/lora_linear.hpp"

namespace flux_kontext {

// diffusers' get_timestep_embedding with flip_sin_to_cos=True, downscale_freq_shift=0,
// max_period 10000: [cos(t * f_i), sin(t * f_i)] with f_i = exp(-ln(10000) * i / (dim / 2)).
// `t` is [batch] (already scaled to 0..1000); the result is fp32 [batch, dim].
at::Tensor timestep_sinusoids(const at::Tensor& t, std::int64_t dim = 256);

// linear_1 -> SiLU -> linear_2: diffusers' TimestepEmbedding and, with act "silu",
// PixArtAlphaTextProjection (the pooled text embedder), which have the same shape.
class MlpEmbedderImpl : public torch::nn::Module {
 public:
  MlpEmbedderImpl(std::int64_t in_features, std::int64_t out_features);
  at::Tensor forward(const at::Tensor& x);

  omni::LoraLinear linear_1{nullptr};
  omni::LoraLinear linear_2{nullptr};
};
TORCH_MODULE(MlpEmbedder);

// diffusers' CombinedTimestepGuidanceTextProjEmbeddings (with guidance) or
// CombinedTimestepTextProjEmbeddings (without): module `time_text_embed`.
class TimeTextEmbeddingImpl : public torch::nn::Module {
 public:
  TimeTextEmbeddingImpl(std::int64_t dim, std::int64_t pooled_projection_dim, bool guidance);
  // `timestep` and `guidance` are [batch], already multiplied by 1000; `guidance` is ignored
  // (and may be undefined) without a guidance embedder.
  at::Tensor forward(const at::Tensor& timestep, const at::Tensor& guidance,
                     const at::Tensor& pooled_projections);

  MlpEmbedder timestep_embedder{nullptr};
  MlpEmbedder guidance_embedder{nullptr};  // null when guidance_embeds is false
  MlpEmbedder text_embedder{nullptr};
};
TORCH_MODULE(TimeTextEmbedding);

}  // namespace flux_kontext
