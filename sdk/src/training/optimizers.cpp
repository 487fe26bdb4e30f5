#include "omni/training/optimizers.hpp"

#include <fmt/format.h>
#include <torch/optim/adamw.h>

#include "omni/training/adafactor.hpp"
#include "omni/training/prodigy.hpp"
#include "omni/error.hpp"

namespace omni {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSettings& config,
                                                        const std::vector<at::Tensor>& params) {
  if (config.name == "AdamW") {
    torch::optim::AdamWOptions options(config.lr);
    options.betas({config.betas.at(0), config.betas.at(1)});
    options.eps(config.eps);
    options.weight_decay(config.weight_decay);
    return std::make_unique<torch::optim::AdamW>(params, options);
  }
  if (config.name == "Prodigy") {
    ProdigyOptions options(config.lr);
    options.beta1(config.betas.at(0));
    options.beta2(config.betas.at(1));
    options.eps(config.eps);
    options.weight_decay(config.weight_decay);
    options.use_bias_correction(config.use_bias_correction);
    options.safeguard_warmup(config.safeguard_warmup);
    options.d_coef(config.d_coef);
    return std::make_unique<Prodigy>(params, options);
  }
  if (config.name == "Adafactor") {
    AdafactorOptions options(config.lr);
    options.eps(config.eps);
    options.weight_decay(config.weight_decay);
    return std::make_unique<Adafactor>(params, options);
  }
  throw Error(fmt::format("optimizer.class_path: '{}' is not available in this build of "
                                "omnihost (use AdamW, Prodigy or Adafactor)",
                                config.name));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace omni
