#pragma once
// The optimizers a LoRA trainer offers (AdamW, Prodigy, Adafactor), chosen by name, and the
// learning-rate hook the LR schedule drives, for whichever optimizer that is.
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>

#include "omni/export.hpp"

namespace omni {

// An optimizer and its settings, as a trainer config's `optimizer` section names them.
struct OptimizerSettings {
  std::string name = "AdamW";  // AdamW | Prodigy | Adafactor
  double lr = 1e-4;
  std::vector<double> betas{0.9, 0.999};
  double weight_decay = 0.01;
  double eps = 1e-8;
  // Prodigy
  bool use_bias_correction = false;
  bool safeguard_warmup = false;
  double d_coef = 1.0;
};

// AdamW (LibTorch's, fp32 state), Prodigy or Adafactor over `params`. Throws Error for an
// optimizer this build does not provide.
OMNI_API std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const OptimizerSettings& config, const std::vector<at::Tensor>& params);

// Sets every parameter group's learning rate (Prodigy: the multiplier of its estimated d).
OMNI_API void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace omni
