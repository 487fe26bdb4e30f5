#pragma once
// The building blocks of diffusers' AutoencoderKL (Encoder, Decoder and what they are made
// of). Member names mirror the checkpoint's (`down_blocks.0.resnets.1.norm1.weight`, ...), so
// loading a diffusers `vae/` folder is a lookup.
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "flux_kontext/vae/vae_config.hpp"

namespace flux_kontext {

// GroupNorm epsilon of every VAE norm (diffusers' Encoder/Decoder pass resnet_eps=1e-6).
inline constexpr double kVaeNormEps = 1e-6;

// diffusers ResnetBlock2D without a time embedding:
// out = x' + conv2(silu(norm2(conv1(silu(norm1(x)))))), x' = conv_shortcut(x) when the
// channel count changes (a 1x1 conv), else x.
class VaeResnetBlockImpl : public torch::nn::Module {
 public:
  VaeResnetBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t groups);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::GroupNorm norm1{nullptr};
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::GroupNorm norm2{nullptr};
  torch::nn::Conv2d conv2{nullptr};
  torch::nn::Conv2d conv_shortcut{nullptr};  // null when in == out channels
};
TORCH_MODULE(VaeResnetBlock);

// Stride-2 3x3 conv after padding one zero row/column at the bottom/right (Downsample2D with
// padding=0): the asymmetric pad keeps even sizes exactly halved.
class VaeDownsampleImpl : public torch::nn::Module {
 public:
  explicit VaeDownsampleImpl(std::int64_t channels);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(VaeDownsample);

// Nearest-neighbour 2x upsampling followed by a 3x3 conv (Upsample2D with use_conv).
class VaeUpsampleImpl : public torch::nn::Module {
 public:
  explicit VaeUpsampleImpl(std::int64_t channels);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(VaeUpsample);

// Single-head self-attention over all pixels with a residual connection (the mid block's
// `Attention` with group_norm, to_q/to_k/to_v and to_out.0).
class VaeAttentionImpl : public torch::nn::Module {
 public:
  VaeAttentionImpl(std::int64_t channels, std::int64_t groups);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::GroupNorm group_norm{nullptr};
  torch::nn::Linear to_q{nullptr};
  torch::nn::Linear to_k{nullptr};
  torch::nn::Linear to_v{nullptr};
  torch::nn::ModuleList to_out{nullptr};  // [Linear]; index 1 (dropout) holds no weights
};
TORCH_MODULE(VaeAttention);

// UNetMidBlock2D: resnet, then (attention, resnet) pairs; here one pair.
class VaeMidBlockImpl : public torch::nn::Module {
 public:
  VaeMidBlockImpl(std::int64_t channels, std::int64_t groups, bool add_attention);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::ModuleList resnets{nullptr};
  torch::nn::ModuleList attentions{nullptr};  // empty without attention
};
TORCH_MODULE(VaeMidBlock);

// DownEncoderBlock2D (resnets, then an optional downsampler) and UpDecoderBlock2D (resnets,
// then an optional upsampler).
class VaeDownBlockImpl : public torch::nn::Module {
 public:
  VaeDownBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t layers,
                   std::int64_t groups, bool add_downsample);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::ModuleList resnets{nullptr};
  torch::nn::ModuleList downsamplers{nullptr};  // empty for the last block
};
TORCH_MODULE(VaeDownBlock);

class VaeUpBlockImpl : public torch::nn::Module {
 public:
  VaeUpBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t layers,
                 std::int64_t groups, bool add_upsample);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::ModuleList resnets{nullptr};
  torch::nn::ModuleList upsamplers{nullptr};  // empty for the last block
};
TORCH_MODULE(VaeUpBlock);

// Image [B, in_channels, H, W] -> moments [B, 2 * latent_channels, H/s, W/s] (mean, logvar).
class VaeEncoderImpl : public torch::nn::Module {
 public:
  explicit VaeEncoderImpl(const VaeConfig& config);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Conv2d conv_in{nullptr};
  torch::nn::ModuleList down_blocks{nullptr};
  VaeMidBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
  torch::nn::Conv2d conv_out{nullptr};
};
TORCH_MODULE(VaeEncoder);

// Latent [B, latent_channels, h, w] -> image [B, out_channels, h*s, w*s].
class VaeDecoderImpl : public torch::nn::Module {
 public:
  explicit VaeDecoderImpl(const VaeConfig& config);
  at::Tensor forward(const at::Tensor& z);

  torch::nn::Conv2d conv_in{nullptr};
  VaeMidBlock mid_block{nullptr};
  torch::nn::ModuleList up_blocks{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
  torch::nn::Conv2d conv_out{nullptr};
};
TORCH_MODULE(VaeDecoder);

}  // namespace flux_kontext
