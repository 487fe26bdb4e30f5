#include "flux_kontext/model/flux_double_block.hpp"

#include <ATen/ATen.h>

namespace flux_kontext {
namespace {

// fp16 activations of the text stream overflow in the largest checkpoints; upstream clamps.
at::Tensor clamp_fp16(const at::Tensor& x) {
  return x.scalar_type() == at::kHalf ? x.clamp(-65504, 65504) : x;
}

}  // namespace

FluxDoubleBlockImpl::FluxDoubleBlockImpl(std::int64_t dim, std::int64_t heads,
                                         std::int64_t head_dim) {
  norm1 = register_module("norm1", AdaLayerNormZero(dim));
  norm1_context = register_module("norm1_context", AdaLayerNormZero(dim));
  FluxAttentionOptions options;
  options.dim = dim;
  options.heads = heads;
  options.head_dim = head_dim;
  options.joint = true;
  options.output_proj = true;
  attn = register_module("attn", FluxAttention(options));
  ff = register_module("ff", FeedForward(dim, 4 * dim));
  ff_context = register_module("ff_context", FeedForward(dim, 4 * dim));
}

StreamPair FluxDoubleBlockImpl::forward(const at::Tensor& image, const at::Tensor& text,
                                        const at::Tensor& temb, const RotaryEmbedding& rope) {
  const ModulatedZero image_mod = norm1(image, temb);
  const ModulatedZero text_mod = norm1_context(text, temb);
  const auto [image_attn, text_attn] = attn->forward(image_mod.normed, text_mod.normed, rope);

  at::Tensor image_out = image + image_mod.gate_msa * image_attn;
  const at::Tensor image_ff_in =
      layer_norm_fp32(image_out) * (1 + image_mod.scale_mlp) + image_mod.shift_mlp;
  image_out = image_out + image_mod.gate_mlp * ff(image_ff_in);

  at::Tensor text_out = text + text_mod.gate_msa * text_attn;
  const at::Tensor text_ff_in =
      layer_norm_fp32(text_out) * (1 + text_mod.scale_mlp) + text_mod.shift_mlp;
  text_out = text_out + text_mod.gate_mlp * ff_context(text_ff_in);
  return {image_out, clamp_fp16(text_out)};
}

}  // namespace flux_kontext
