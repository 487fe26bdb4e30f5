#pragma once
// diffusers' FluxTransformerBlock (BFL "double_blocks"): image and text streams with their own
// modulation, projections and feed-forwards, joined in one attention.
#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "flux_kontext/model/flux_attention.hpp"
#include "flux_kontext/model/flux_feed_forward.hpp"
#include "flux_kontext/model/flux_norms.hpp"
#include "flux_kontext/model/flux_rope.hpp"

namespace flux_kontext {

struct StreamPair {
  at::Tensor image;  // [batch, image tokens, dim]
  at::Tensor text;   // [batch, text tokens, dim]
};

class FluxDoubleBlockImpl : public torch::nn::Module {
 public:
  FluxDoubleBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t head_dim);
  StreamPair forward(const at::Tensor& image, const at::Tensor& text, const at::Tensor& temb,
                     const RotaryEmbedding& rope);

  AdaLayerNormZero norm1{nullptr};
  AdaLayerNormZero norm1_context{nullptr};
  FluxAttention attn{nullptr};
  FeedForward ff{nullptr};
  FeedForward ff_context{nullptr};
};
TORCH_MODULE(FluxDoubleBlock);

}  // namespace flux_kontext
