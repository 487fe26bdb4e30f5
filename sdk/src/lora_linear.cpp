#include "omni/lora_linear.hpp"

#include <cmath>

#include <torch/nn/functional/dropout.h>
#include <torch/nn/functional/linear.h>
#include <torch/nn/init.h>

#include "omni/error.hpp"

namespace omni {

LoraLinearImpl::LoraLinearImpl(std::int64_t in_features, std::int64_t out_features, bool bias_) {
  weight = register_parameter("weight", torch::empty({out_features, in_features}));
  // The default initialization of torch.nn.Linear, so a model built from scratch trains.
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias_) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    bias = register_parameter("bias", torch::empty({out_features}).uniform_(-bound, bound));
  }
}

at::Tensor LoraLinearImpl::forward(const at::Tensor& input) {
  at::Tensor output = torch::nn::functional::linear(input, weight, bias);
  for (const FrozenAdapter& adapter : frozen_adapters_) {
    at::Tensor x = input.to(adapter.down.scalar_type());
    at::Tensor delta = at::matmul(at::matmul(x, adapter.down.t()), adapter.up.t()) * adapter.scale;
    output = output + delta.to(output.scalar_type());
  }
  if (!has_lora()) return output;
  at::Tensor adapter_input = input.to(lora_A->weight.scalar_type());
  if (lora_dropout > 0 && is_training()) {
    adapter_input = torch::nn::functional::dropout(
        adapter_input, torch::nn::functional::DropoutFuncOptions().p(lora_dropout).training(true));
  }
  at::Tensor delta = lora_B->forward(lora_A->forward(adapter_input)) * lora_scale;
  return output + delta.to(output.scalar_type());
}

void LoraLinearImpl::attach_lora(std::int64_t rank, double alpha, LoraInit init, double dropout,
                                 c10::ScalarType dtype) {
  if (rank <= 0) throw Error("LoRA rank must be > 0");
  detach_lora();
  auto options = torch::nn::LinearOptions(in_features(), rank).bias(false);
  lora_A = register_module("lora_A", torch::nn::Linear(options));
  lora_B = register_module("lora_B",
                           torch::nn::Linear(torch::nn::LinearOptions(rank, out_features()).bias(false)));
  torch::NoGradGuard no_grad;
  const double std_dev = 1.0 / static_cast<double>(rank);
  switch (init) {
    case LoraInit::gaussian:
      lora_A->weight.normal_(0.0, std_dev);
      lora_B->weight.zero_();
      break;
    case LoraInit::zero_b:
      torch::nn::init::kaiming_uniform_(lora_A->weight, std::sqrt(5.0));
      lora_B->weight.zero_();
      break;
    case LoraInit::normal:
      lora_A->weight.normal_(0.0, std_dev);
      lora_B->weight.normal_(0.0, std_dev);
      break;
  }
  lora_A->to(weight.device(), dtype);
  lora_B->to(weight.device(), dtype);
  lora_scale = alpha / static_cast<double>(rank);
  lora_dropout = dropout;
}

void LoraLinearImpl::add_frozen_adapter(const at::Tensor& down, const at::Tensor& up,
                                        double scale) {
  if (down.dim() != 2 || up.dim() != 2 || down.size(1) != in_features() ||
      up.size(0) != out_features() || up.size(1) != down.size(0)) {
    throw Error("frozen LoRA adapter: expected down [rank, in] and up [out, rank] that fit the "
                "linear layer");
  }
  torch::NoGradGuard no_grad;
  frozen_adapters_.push_back({down.to(weight.device(), at::kFloat).contiguous(),
                              up.to(weight.device(), at::kFloat).contiguous(), scale});
}

void LoraLinearImpl::detach_lora() {
  if (!has_lora()) return;
  unregister_module("lora_A");
  unregister_module("lora_B");
  lora_A = nullptr;
  lora_B = nullptr;
  lora_scale = 0.0;
}

}  // namespace omni
