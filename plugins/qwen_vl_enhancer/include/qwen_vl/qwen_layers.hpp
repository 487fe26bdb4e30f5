#pragma once
// Building blocks both Qwen2.5-VL towers use: RMSNorm, the gated SiLU MLP and rotary
// embeddings with the "rotate half" convention.
#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace qwen_vl {

// Qwen2RMSNorm: normalized in float32, rounded back to the input dtype, then scaled.
struct QwenRMSNormImpl : torch::nn::Module {
  QwenRMSNormImpl(std::int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight;
  double eps;
};
TORCH_MODULE(QwenRMSNorm);

// down(silu(gate(x)) * up(x)); the vision tower's projections have biases, the decoder's not.
struct QwenGatedMlpImpl : torch::nn::Module {
  QwenGatedMlpImpl(std::int64_t hidden, std::int64_t intermediate, bool bias);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(QwenGatedMlp);

// cat(-x[half:], x[:half]) on the last dimension.
at::Tensor rotate_half(const at::Tensor& x);

// x * cos + rotate_half(x) * sin, computed in float32 and rounded back to x's dtype.
// cos/sin broadcast against x.
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace qwen_vl
