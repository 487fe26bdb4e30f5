#pragma once
// diffusers' FeedForward(activation_fn="gelu-approximate"): net.0 = GELU(tanh) with its input
// projection `proj`, net.1 = dropout (no parameters), net.2 = output projection.
#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "omni/lora_linear.hpp"

namespace flux_kontext {

class GeluProjectionImpl : public torch::nn::Module {
 public:
  GeluProjectionImpl(std::int64_t in_features, std::int64_t out_features);
  at::Tensor forward(const at::Tensor& x);

  omni::LoraLinear proj{nullptr};
};
TORCH_MODULE(GeluProjection);

class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(std::int64_t dim, std::int64_t hidden_dim);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::ModuleList net{nullptr};
  // Typed handles on net[0] and net[2] (registered once, through `net`).
  GeluProjection input{nullptr};
  omni::LoraLinear output{nullptr};
};
TORCH_MODULE(FeedForward);

}  // namespace flux_kontext
