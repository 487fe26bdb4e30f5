#include "flux_kontext/model/flux_feed_forward.hpp"

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>

namespace flux_kontext {

GeluProjectionImpl::GeluProjectionImpl(std::int64_t in_features, std::int64_t out_features) {
  proj = register_module("proj", omni::LoraLinear(in_features, out_features));
}

at::Tensor GeluProjectionImpl::forward(const at::Tensor& x) { return at::gelu(proj(x), "tanh"); }

FeedForwardImpl::FeedForwardImpl(std::int64_t dim, std::int64_t hidden_dim) {
  input = GeluProjection(dim, hidden_dim);
  output = omni::LoraLinear(hidden_dim, dim);
  net = register_module("net", torch::nn::ModuleList());
  net->push_back(input);
  net->push_back(torch::nn::Identity());  // upstream's Dropout(0.0): keeps the numbering
  net->push_back(output);
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) { return output(input(x)); }

}  // namespace flux_kontext
