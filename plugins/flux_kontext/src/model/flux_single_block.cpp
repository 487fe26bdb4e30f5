#include "flux_kontext/model/flux_single_block.hpp"

#include <ATen/ATen.h>

namespace flux_kontext {

FluxSingleBlockImpl::FluxSingleBlockImpl(std::int64_t dim, std::int64_t heads,
                                         std::int64_t head_dim) {
  const std::int64_t mlp_hidden = 4 * dim;
  norm = register_module("norm", AdaLayerNormZeroSingle(dim));
  proj_mlp = register_module("proj_mlp", omni::LoraLinear(dim, mlp_hidden));
  proj_out = register_module("proj_out", omni::LoraLinear(dim + mlp_hidden, dim));
  FluxAttentionOptions options;
  options.dim = dim;
  options.heads = heads;
  options.head_dim = head_dim;
  attn = register_module("attn", FluxAttention(options));
}

at::Tensor FluxSingleBlockImpl::forward(const at::Tensor& tokens, const at::Tensor& temb,
                                        const RotaryEmbedding& rope) {
  const ModulatedSingle mod = norm(tokens, temb);
  const at::Tensor mlp = at::gelu(proj_mlp(mod.normed), "tanh");
  const at::Tensor attention = attn->forward(mod.normed, rope);
  at::Tensor out = tokens + mod.gate * proj_out(at::cat({attention, mlp}, -1));
  return out.scalar_type() == at::kHalf ? out.clamp(-65504, 65504) : out;
}

}  // namespace flux_kontext
