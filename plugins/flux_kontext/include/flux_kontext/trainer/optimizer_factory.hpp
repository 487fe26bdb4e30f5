#pragma once
// The optimizer named by a config's `optimizer` section, and the learning-rate hook the LR
// schedule drives, for whichever optimizer that is.
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>

#include "flux_kontext/export.hpp"
#include "flux_kontext/trainer/trainer_config.hpp"

namespace flux_kontext {

// AdamW (LibTorch's, fp32 state), Prodigy or Adafactor over `params`. Throws omni::Error for an
// optimizer this build does not provide.
FLUX_KONTEXT_API std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const OptimizerConfig& config, const std::vector<at::Tensor>& params);

// Sets every parameter group's learning rate (Prodigy: the multiplier of its estimated d).
FLUX_KONTEXT_API void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace flux_kontext
