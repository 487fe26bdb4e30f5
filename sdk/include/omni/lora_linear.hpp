#pragma once
// A linear layer that can carry a LoRA adapter. Models use it for every Linear, so an
// adapter can be attached to any of them by module name without rebuilding the model.
// Parameter names follow PEFT: `<module>.weight`, `<module>.bias`,
// `<module>.lora_A.weight`, `<module>.lora_B.weight`.
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "omni/export.hpp"

namespace omni {

enum class LoraInit {
  gaussian,  // A ~ N(0, 1/r), B = 0 (PEFT's "gaussian")
  zero_b,    // A kaiming-uniform, B = 0 (PEFT's default)
  normal,    // A ~ N(0, 1/r) and B ~ N(0, 1/r): a non-zero start, for tests
};

class OMNI_API LoraLinearImpl : public torch::nn::Module {
 public:
  LoraLinearImpl(std::int64_t in_features, std::int64_t out_features, bool bias = true);

  at::Tensor forward(const at::Tensor& input);

  // Adds (or replaces) the adapter. Its weights are created in `dtype` (fp32 by default:
  // trainable parameters stay fp32 while the frozen base may be bf16) on the base's device.
  void attach_lora(std::int64_t rank, double alpha, LoraInit init, double dropout = 0.0,
                   c10::ScalarType dtype = c10::kFloat);
  void detach_lora();
  bool has_lora() const { return static_cast<bool>(lora_A); }

  // A fixed extra adapter (a base LoRA stacked under the trained one): its output
  // scale * up(down(x)) is added in forward, it is never trained and never saved with the
  // trainable adapter. `down` is [rank, in], `up` [out, rank]; kept in fp32 on the base's
  // device.
  void add_frozen_adapter(const at::Tensor& down, const at::Tensor& up, double scale);
  std::size_t frozen_adapter_count() const { return frozen_adapters_.size(); }

  std::int64_t in_features() const { return weight.size(1); }
  std::int64_t out_features() const { return weight.size(0); }

  at::Tensor weight;
  at::Tensor bias;  // undefined when built without bias
  torch::nn::Linear lora_A{nullptr};
  torch::nn::Linear lora_B{nullptr};
  double lora_scale = 0.0;  // alpha / r, times any user scale
  double lora_dropout = 0.0;

 private:
  struct FrozenAdapter {
    at::Tensor down, up;
    double scale;
  };
  std::vector<FrozenAdapter> frozen_adapters_;
};

TORCH_MODULE(LoraLinear);

}  // namespace omni
