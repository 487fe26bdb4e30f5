#include "omni/training/gradient_clipping.hpp"

#include <ATen/ATen.h>
#include <torch/utils.h>

namespace omni {

at::Tensor clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (const at::Tensor& parameter : params) {
    if (parameter.grad().defined()) grads.push_back(parameter.grad());
  }
  if (grads.empty()) return at::zeros({});
  std::vector<at::Tensor> norms;
  norms.reserve(grads.size());
  // Each norm in fp32 on the first gradient's device, so that bf16 gradients and gradients
  // spread over devices sum exactly as fp32 ones on one device would.
  const at::Device device = grads.front().device();
  for (const at::Tensor& grad : grads) {
    norms.push_back(at::linalg_vector_norm(grad, 2, c10::nullopt, false, at::kFloat).to(device));
  }
  const at::Tensor total = at::stack(norms).norm(2);
  // Multiplying by a coefficient of exactly 1 changes no bit, so the unclipped case needs no
  // branch, and with it no host read of the norm.
  const at::Tensor coefficient = (max_norm / (total + 1e-6)).clamp_max(1.0);
  for (at::Tensor& grad : grads) grad.mul_(coefficient.to(grad.device(), grad.scalar_type()));
  return total;
}

}  // namespace omni
