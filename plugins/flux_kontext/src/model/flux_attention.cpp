#include "flux_kontext/model/flux_attention.hpp"

#include <ATen/ATen.h>

#include "omni/torch_compat.hpp"

namespace flux_kontext {

FluxAttentionImpl::FluxAttentionImpl(const FluxAttentionOptions& options) : options_(options) {
  const std::int64_t dim = options.dim;
  const std::int64_t inner = options.heads * options.head_dim;
  to_q = register_module("to_q", omni::LoraLinear(dim, inner));
  to_k = register_module("to_k", omni::LoraLinear(dim, inner));
  to_v = register_module("to_v", omni::LoraLinear(dim, inner));
  norm_q = register_module("norm_q", RMSNorm(options.head_dim));
  norm_k = register_module("norm_k", RMSNorm(options.head_dim));
  if (options.joint) {
    add_q_proj = register_module("add_q_proj", omni::LoraLinear(dim, inner));
    add_k_proj = register_module("add_k_proj", omni::LoraLinear(dim, inner));
    add_v_proj = register_module("add_v_proj", omni::LoraLinear(dim, inner));
    norm_added_q = register_module("norm_added_q", RMSNorm(options.head_dim));
    norm_added_k = register_module("norm_added_k", RMSNorm(options.head_dim));
    to_add_out = register_module("to_add_out", omni::LoraLinear(inner, dim));
  }
  if (options.output_proj) {
    out_proj = omni::LoraLinear(inner, dim);
    to_out = register_module("to_out", torch::nn::ModuleList());
    to_out->push_back(out_proj);
  }
}

at::Tensor FluxAttentionImpl::heads(const at::Tensor& x, omni::LoraLinear& projection,
                                    RMSNorm* norm) const {
  at::Tensor out = projection(x).unflatten(-1, {options_.heads, options_.head_dim});
  return norm ? (*norm)(out) : out;
}

at::Tensor FluxAttentionImpl::attend(const at::Tensor& q, const at::Tensor& k,
                                     const at::Tensor& v, const RotaryEmbedding& rope) const {
  // Rotations in [batch, tokens, heads, head_dim]; SDPA wants [batch, heads, tokens, head_dim].
  const at::Tensor query = apply_rotary_embedding(q, rope).transpose(1, 2);
  const at::Tensor key = apply_rotary_embedding(k, rope).transpose(1, 2);
  const at::Tensor out =
      omni::compat::scaled_dot_product_attention(query, key, v.transpose(1, 2));
  return out.transpose(1, 2).flatten(2);
}

std::pair<at::Tensor, at::Tensor> FluxAttentionImpl::forward(const at::Tensor& image,
                                                             const at::Tensor& text,
                                                             const RotaryEmbedding& rope) {
  const at::Tensor q = at::cat({heads(text, add_q_proj, &norm_added_q), heads(image, to_q, &norm_q)}, 1);
  const at::Tensor k = at::cat({heads(text, add_k_proj, &norm_added_k), heads(image, to_k, &norm_k)}, 1);
  const at::Tensor v = at::cat({heads(text, add_v_proj, nullptr), heads(image, to_v, nullptr)}, 1);
  const at::Tensor out = attend(q, k, v, rope);
  const std::int64_t text_tokens = text.size(1);
  return {out_proj(out.narrow(1, text_tokens, out.size(1) - text_tokens)),
          to_add_out(out.narrow(1, 0, text_tokens))};
}

at::Tensor FluxAttentionImpl::forward(const at::Tensor& tokens, const RotaryEmbedding& rope) {
  return attend(heads(tokens, to_q, &norm_q), heads(tokens, to_k, &norm_k),
                heads(tokens, to_v, nullptr), rope);
}

}  // namespace flux_kontext
