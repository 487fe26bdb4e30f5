#include "flux_kontext/model/flux_norms.hpp"

#include <ATen/ATen.h>

namespace flux_kontext {

at::Tensor layer_norm_fp32(const at::Tensor& x, double eps) {
  return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, {}, {}, eps).to(x.scalar_type());
}

RMSNormImpl::RMSNormImpl(std::int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", at::ones({dim}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  const at::Tensor x32 = x.to(at::kFloat);
  const at::Tensor inverse_rms = at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return (x32 * inverse_rms * weight.to(at::kFloat)).to(x.scalar_type());
}

AdaLayerNormZeroImpl::AdaLayerNormZeroImpl(std::int64_t dim) {
  linear = register_module("linear", omni::LoraLinear(dim, 6 * dim));
}

ModulatedZero AdaLayerNormZeroImpl::forward(const at::Tensor& x, const at::Tensor& emb) {
  // [batch, 6 * dim] -> six [batch, 1, dim] rows that broadcast over the tokens.
  const std::vector<at::Tensor> parts = linear(at::silu(emb)).unsqueeze(1).chunk(6, -1);
  ModulatedZero out;
  out.normed = layer_norm_fp32(x) * (1 + parts[1]) + parts[0];
  out.gate_msa = parts[2];
  out.shift_mlp = parts[3];
  out.scale_mlp = parts[4];
  out.gate_mlp = parts[5];
  return out;
}

AdaLayerNormZeroSingleImpl::AdaLayerNormZeroSingleImpl(std::int64_t dim) {
  linear = register_module("linear", omni::LoraLinear(dim, 3 * dim));
}

ModulatedSingle AdaLayerNormZeroSingleImpl::forward(const at::Tensor& x, const at::Tensor& emb) {
  const std::vector<at::Tensor> parts = linear(at::silu(emb)).unsqueeze(1).chunk(3, -1);
  return {layer_norm_fp32(x) * (1 + parts[1]) + parts[0], parts[2]};
}

AdaLayerNormContinuousImpl::AdaLayerNormContinuousImpl(std::int64_t dim,
                                                       std::int64_t conditioning_dim) {
  linear = register_module("linear", omni::LoraLinear(conditioning_dim, 2 * dim));
}

at::Tensor AdaLayerNormContinuousImpl::forward(const at::Tensor& x,
                                               const at::Tensor& conditioning) {
  const std::vector<at::Tensor> parts =
      linear(at::silu(conditioning).to(x.scalar_type())).unsqueeze(1).chunk(2, -1);
  return layer_norm_fp32(x) * (1 + parts[0]) + parts[1];
}

}  // namespace flux_kontext
