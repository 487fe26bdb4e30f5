#pragma once
// The normalizations of the Flux transformer. Statistics are computed in fp32 whatever the
// weights' dtype (bf16 variance over 3072 channels loses too much); results come back in the
// input's dtype. Modulation (scale/shift/gate) is computed in the weights' dtype, as upstream.
#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "omni/lora_linear.hpp"

namespace flux_kontext {

// LayerNorm without affine parameters, eps 1e-6, computed in fp32.
at::Tensor layer_norm_fp32(const at::Tensor& x, double eps = 1e-6);

// RMS norm over the last dimension with a learned scale (the q/k norms of the attention).
class RMSNormImpl : public torch::nn::Module {
 public:
  explicit RMSNormImpl(std::int64_t dim, double eps = 1e-6);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

// diffusers' AdaLayerNormZero: six modulation vectors from the conditioning embedding.
struct ModulatedZero {
  at::Tensor normed;  // norm(x) * (1 + scale_msa) + shift_msa
  at::Tensor gate_msa, shift_mlp, scale_mlp, gate_mlp;  // [batch, 1, dim]
};

class AdaLayerNormZeroImpl : public torch::nn::Module {
 public:
  explicit AdaLayerNormZeroImpl(std::int64_t dim);
  ModulatedZero forward(const at::Tensor& x, const at::Tensor& emb);

  omni::LoraLinear linear{nullptr};
};
TORCH_MODULE(AdaLayerNormZero);

// diffusers' AdaLayerNormZeroSingle: shift, scale and gate only.
struct ModulatedSingle {
  at::Tensor normed;
  at::Tensor gate;  // [batch, 1, dim]
};

class AdaLayerNormZeroSingleImpl : public torch::nn::Module {
 public:
  explicit AdaLayerNormZeroSingleImpl(std::int64_t dim);
  ModulatedSingle forward(const at::Tensor& x, const at::Tensor& emb);

  omni::LoraLinear linear{nullptr};
};
TORCH_MODULE(AdaLayerNormZeroSingle);

// diffusers' AdaLayerNormContinuous (the output norm). Its linear yields (scale, shift) in
// that order; BFL checkpoints store (shift, scale), see bfl_checkpoint.cpp.
class AdaLayerNormContinuousImpl : public torch::nn::Module {
 public:
  AdaLayerNormContinuousImpl(std::int64_t dim, std::int64_t conditioning_dim);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& conditioning);

  omni::LoraLinear linear{nullptr};
};
TORCH_MODULE(AdaLayerNormContinuous);

}  // namespace flux_kontext
