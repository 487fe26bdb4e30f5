#pragma once
// diffusers' FluxSingleTransformerBlock (BFL "single_blocks"): one stream over the joined
// [text; image] tokens, attention and MLP computed in parallel from the same modulated input
// and projected back together by proj_out.
#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "flux_kontext/model/flux_attention.hpp"
#include "flux_kontext/model/flux_norms.hpp"
#include "flux_kontext/model/flux_rope.hpp"

namespace flux_kontext {

class FluxSingleBlockImpl : public torch::nn::Module {
 public:
  FluxSingleBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t head_dim);
  // `tokens` [batch, text + image tokens, dim].
  at::Tensor forward(const at::Tensor& tokens, const at::Tensor& temb, const RotaryEmbedding& rope);

  AdaLayerNormZeroSingle norm{nullptr};
  omni::LoraLinear proj_mlp{nullptr};
  omni::LoraLinear proj_out{nullptr};
  FluxAttention attn{nullptr};
};
TORCH_MODULE(FluxSingleBlock);

}  // namespace flux_kontext
