#include "qwen_vl/qwen_layers.hpp"

#include <ATen/ATen.h>

namespace qwen_vl {

QwenRMSNormImpl::QwenRMSNormImpl(std::int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", at::ones({dim}));
}

at::Tensor QwenRMSNormImpl::forward(const at::Tensor& x) {
  const at::Tensor x32 = x.to(at::kFloat);
  const at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

QwenGatedMlpImpl::QwenGatedMlpImpl(std::int64_t hidden, std::int64_t intermediate, bool bias) {
  gate_proj = register_module(
      "gate_proj", torch::nn::Linear(torch::nn::LinearOptions(hidden, intermediate).bias(bias)));
  up_proj = register_module(
      "up_proj", torch::nn::Linear(torch::nn::LinearOptions(hidden, intermediate).bias(bias)));
  down_proj = register_module(
      "down_proj", torch::nn::Linear(torch::nn::LinearOptions(intermediate, hidden).bias(bias)));
}

at::Tensor QwenGatedMlpImpl::forward(const at::Tensor& x) {
  return down_proj->forward(at::silu(gate_proj->forward(x)) * up_proj->forward(x));
}

at::Tensor rotate_half(const at::Tensor& x) {
  const std::int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const at::Tensor x32 = x.to(at::kFloat);
  return (x32 * cos + rotate_half(x32) * sin).to(x.scalar_type());
}

}  // namespace qwen_vl
