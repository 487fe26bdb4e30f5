#include "flux_kontext/vae/vae_blocks.hpp"

#include <ATen/ATen.h>
#include <torch/nn/functional/upsampling.h>

#include "omni/torch_compat.hpp"

namespace flux_kontext {
namespace {

namespace nn = torch::nn;

nn::GroupNorm group_norm(std::int64_t groups, std::int64_t channels) {
  return nn::GroupNorm(nn::GroupNormOptions(groups, channels).eps(kVaeNormEps).affine(true));
}

nn::Conv2d conv3x3(std::int64_t in_channels, std::int64_t out_channels) {
  return nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, 3).padding(1));
}

template <class Impl>
at::Tensor run(const nn::ModuleList& list, std::size_t index, const at::Tensor& x) {
  return list->ptr<Impl>(index)->forward(x);
}

}  // namespace

VaeResnetBlockImpl::VaeResnetBlockImpl(std::int64_t in_channels, std::int64_t out_channels,
                                       std::int64_t groups) {
  norm1 = register_module("norm1", group_norm(groups, in_channels));
  conv1 = register_module("conv1", conv3x3(in_channels, out_channels));
  norm2 = register_module("norm2", group_norm(groups, out_channels));
  conv2 = register_module("conv2", conv3x3(out_channels, out_channels));
  if (in_channels != out_channels) {
    conv_shortcut = register_module(
        "conv_shortcut", nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, 1)));
  }
}

at::Tensor VaeResnetBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = conv1(at::silu(norm1(x)));
  h = conv2(at::silu(norm2(h)));
  const at::Tensor shortcut = conv_shortcut ? conv_shortcut(x) : x;
  return shortcut + h;  // output_scale_factor is 1 in every AutoencoderKL
}

VaeDownsampleImpl::VaeDownsampleImpl(std::int64_t channels) {
  conv = register_module("conv",
                         nn::Conv2d(nn::Conv2dOptions(channels, channels, 3).stride(2).padding(0)));
}

at::Tensor VaeDownsampleImpl::forward(const at::Tensor& x) {
  return conv(at::constant_pad_nd(x, {0, 1, 0, 1}, 0.0));
}

VaeUpsampleImpl::VaeUpsampleImpl(std::int64_t channels) {
  conv = register_module("conv", conv3x3(channels, channels));
}

at::Tensor VaeUpsampleImpl::forward(const at::Tensor& x) {
  namespace F = torch::nn::functional;
  const at::Tensor up = F::interpolate(
      x.contiguous(),
      F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
  return conv(up);
}

VaeAttentionImpl::VaeAttentionImpl(std::int64_t channels, std::int64_t groups) {
  group_norm = register_module("group_norm", flux_kontext::group_norm(groups, channels));
  to_q = register_module("to_q", nn::Linear(channels, channels));
  to_k = register_module("to_k", nn::Linear(channels, channels));
  to_v = register_module("to_v", nn::Linear(channels, channels));
  to_out = register_module("to_out", nn::ModuleList(nn::Linear(channels, channels)));
}

at::Tensor VaeAttentionImpl::forward(const at::Tensor& x) {
  const std::int64_t batch = x.size(0), channels = x.size(1), height = x.size(2),
                     width = x.size(3);
  // [B, C, H, W] -> [B, H*W, C]: every pixel is a token of one attention head.
  const at::Tensor tokens = group_norm(x).reshape({batch, channels, height * width}).transpose(1, 2);
  const at::Tensor q = to_q(tokens).unsqueeze(1);
  const at::Tensor k = to_k(tokens).unsqueeze(1);
  const at::Tensor v = to_v(tokens).unsqueeze(1);
  at::Tensor out = omni::compat::scaled_dot_product_attention(q, k, v).squeeze(1);
  out = to_out->ptr<nn::LinearImpl>(0)->forward(out);
  return out.transpose(1, 2).reshape({batch, channels, height, width}) + x;
}

VaeMidBlockImpl::VaeMidBlockImpl(std::int64_t channels, std::int64_t groups, bool add_attention) {
  resnets = register_module("resnets", nn::ModuleList());
  attentions = register_module("attentions", nn::ModuleList());
  resnets->push_back(VaeResnetBlock(channels, channels, groups));
  if (add_attention) attentions->push_back(VaeAttention(channels, groups));
  resnets->push_back(VaeResnetBlock(channels, channels, groups));
}

at::Tensor VaeMidBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = run<VaeResnetBlockImpl>(resnets, 0, x);
  if (!attentions->is_empty()) h = run<VaeAttentionImpl>(attentions, 0, h);
  return run<VaeResnetBlockImpl>(resnets, 1, h);
}

VaeDownBlockImpl::VaeDownBlockImpl(std::int64_t in_channels, std::int64_t out_channels,
                                   std::int64_t layers, std::int64_t groups, bool add_downsample) {
  resnets = register_module("resnets", nn::ModuleList());
  downsamplers = register_module("downsamplers", nn::ModuleList());
  for (std::int64_t i = 0; i < layers; ++i) {
    resnets->push_back(VaeResnetBlock(i == 0 ? in_channels : out_channels, out_channels, groups));
  }
  if (add_downsample) downsamplers->push_back(VaeDownsample(out_channels));
}

at::Tensor VaeDownBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = x;
  for (std::size_t i = 0; i < resnets->size(); ++i) h = run<VaeResnetBlockImpl>(resnets, i, h);
  if (!downsamplers->is_empty()) h = run<VaeDownsampleImpl>(downsamplers, 0, h);
  return h;
}

VaeUpBlockImpl::VaeUpBlockImpl(std::int64_t in_channels, std::int64_t out_channels,
                               std::int64_t layers, std::int64_t groups, bool add_upsample) {
  resnets = register_module("resnets", nn::ModuleList());
  upsamplers = register_module("upsamplers", nn::ModuleList());
  for (std::int64_t i = 0; i < layers; ++i) {
    resnets->push_back(VaeResnetBlock(i == 0 ? in_channels : out_channels, out_channels, groups));
  }
  if (add_upsample) upsamplers->push_back(VaeUpsample(out_channels));
}

at::Tensor VaeUpBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = x;
  for (std::size_t i = 0; i < resnets->size(); ++i) h = run<VaeResnetBlockImpl>(resnets, i, h);
  if (!upsamplers->is_empty()) h = run<VaeUpsampleImpl>(upsamplers, 0, h);
  return h;
}

VaeEncoderImpl::VaeEncoderImpl(const VaeConfig& config) {
  const auto& channels = config.block_out_channels;
  const std::int64_t groups = config.norm_num_groups;
  conv_in = register_module("conv_in", conv3x3(config.in_channels, channels.front()));
  down_blocks = register_module("down_blocks", nn::ModuleList());
  std::int64_t previous = channels.front();
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const bool last = i + 1 == channels.size();
    down_blocks->push_back(
        VaeDownBlock(previous, channels[i], config.layers_per_block, groups, !last));
    previous = channels[i];
  }
  mid_block = register_module("mid_block",
                              VaeMidBlock(channels.back(), groups, config.mid_block_add_attention));
  conv_norm_out = register_module("conv_norm_out", group_norm(groups, channels.back()));
  conv_out = register_module("conv_out", conv3x3(channels.back(), 2 * config.latent_channels));
}

at::Tensor VaeEncoderImpl::forward(const at::Tensor& x) {
  at::Tensor h = conv_in(x);
  for (std::size_t i = 0; i < down_blocks->size(); ++i) h = run<VaeDownBlockImpl>(down_blocks, i, h);
  h = mid_block(h);
  return conv_out(at::silu(conv_norm_out(h)));
}

VaeDecoderImpl::VaeDecoderImpl(const VaeConfig& config) {
  // The decoder walks the channel list backwards, with one more resnet per block.
  const std::vector<std::int64_t> channels(config.block_out_channels.rbegin(),
                                           config.block_out_channels.rend());
  const std::int64_t groups = config.norm_num_groups;
  conv_in = register_module("conv_in", conv3x3(config.latent_channels, channels.front()));
  mid_block = register_module("mid_block",
                              VaeMidBlock(channels.front(), groups, config.mid_block_add_attention));
  up_blocks = register_module("up_blocks", nn::ModuleList());
  std::int64_t previous = channels.front();
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const bool last = i + 1 == channels.size();
    up_blocks->push_back(
        VaeUpBlock(previous, channels[i], config.layers_per_block + 1, groups, !last));
    previous = channels[i];
  }
  conv_norm_out = register_module("conv_norm_out", group_norm(groups, channels.back()));
  conv_out = register_module("conv_out", conv3x3(channels.back(), config.out_channels));
}

at::Tensor VaeDecoderImpl::forward(const at::Tensor& z) {
  at::Tensor h = mid_block(conv_in(z));
  for (std::size_t i = 0; i < up_blocks->size(); ++i) h = run<VaeUpBlockImpl>(up_blocks, i, h);
  return conv_out(at::silu(conv_norm_out(h)));
}

}  // namespace flux_kontext
