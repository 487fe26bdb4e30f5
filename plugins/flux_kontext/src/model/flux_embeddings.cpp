#include "flux_kontext/model/flux_embeddings.hpp"

#include <cmath>

#include <ATen/ATen.h>

namespace flux_kontext {

namespace {
constexpr std::int64_t kSinusoidDim = 256;  // diffusers' Timesteps(num_channels=256)
}

at::Tensor timestep_sinusoids(const at::Tensor& t, std::int64_t dim) {
  const std::int64_t half = dim / 2;
  // Same operation order as upstream, so fp32 results agree to the last bit.
  at::Tensor exponent = at::arange(half, t.options().dtype(at::kFloat)) * -std::log(10000.0);
  exponent = exponent / static_cast<double>(half);
  const at::Tensor angles = t.to(at::kFloat).unsqueeze(1) * at::exp(exponent).unsqueeze(0);
  return at::cat({at::cos(angles), at::sin(angles)}, -1);
}

MlpEmbedderImpl::MlpEmbedderImpl(std::int64_t in_features, std::int64_t out_features) {
  linear_1 = register_module("linear_1", omni::LoraLinear(in_features, out_features));
  linear_2 = register_module("linear_2", omni::LoraLinear(out_features, out_features));
}

at::Tensor MlpEmbedderImpl::forward(const at::Tensor& x) {
  return linear_2(at::silu(linear_1(x)));
}

TimeTextEmbeddingImpl::TimeTextEmbeddingImpl(std::int64_t dim,
                                             std::int64_t pooled_projection_dim, bool guidance) {
  timestep_embedder = register_module("timestep_embedder", MlpEmbedder(kSinusoidDim, dim));
  if (guidance) {
    guidance_embedder = register_module("guidance_embedder", MlpEmbedder(kSinusoidDim, dim));
  }
  text_embedder = register_module("text_embedder", MlpEmbedder(pooled_projection_dim, dim));
}

at::Tensor TimeTextEmbeddingImpl::forward(const at::Tensor& timestep, const at::Tensor& guidance,
                                          const at::Tensor& pooled_projections) {
  const c10::ScalarType dtype = timestep_embedder->linear_1->weight.scalar_type();
  at::Tensor temb = timestep_embedder(timestep_sinusoids(timestep, kSinusoidDim).to(dtype));
  if (guidance_embedder) {
    temb = temb + guidance_embedder(timestep_sinusoids(guidance, kSinusoidDim).to(dtype));
  }
  return temb + text_embedder(pooled_projections.to(dtype));
}

}  // namespace flux_kontext
