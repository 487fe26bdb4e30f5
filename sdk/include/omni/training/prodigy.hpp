#pragma once
// Prodigy (Mishchenko & Defazio, "Prodigy: An Expeditiously Adaptive Parameter-Free
// Learner", arXiv:2306.06101): Adam whose step size d is estimated on the fly from how far
// the weights moved against the gradients, the algorithm of the `prodigyopt` package that
// upstream configs name as `prodigyopt.Prodigy`. The learning rate is a multiplier of the
// estimated d (1.0 recommended), so LR schedules still apply.
//
// All state is fp32 (whatever the parameters' dtype) and save()/load() hold the global
// estimate (d, d_max, the numerator, the step count) beside the per-parameter buffers, so a
// run resumed from a checkpoint continues exactly.
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>

#include "omni/export.hpp"

namespace omni {

struct OMNI_API ProdigyOptions
    : public torch::optim::OptimizerCloneableOptions<ProdigyOptions> {
  ProdigyOptions(double lr = 1.0);  // NOLINT: LibTorch's loader builds options from an lr
  TORCH_ARG(double, lr) = 1.0;
  TORCH_ARG(double, beta1) = 0.9;
  TORCH_ARG(double, beta2) = 0.999;
  // Decay of the d-estimate's running sums; unset: sqrt(beta2), as prodigyopt does.
  TORCH_ARG(std::optional<double>, beta3);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0.0;
  // AdamW-style decay applied to the weights (true) or L2 added to the gradient (false).
  TORCH_ARG(bool, decouple) = true;
  TORCH_ARG(bool, use_bias_correction) = false;
  // Leave the lr out of the estimate's denominator, for runs with LR warm-up.
  TORCH_ARG(bool, safeguard_warmup) = false;
  TORCH_ARG(double, d0) = 1e-6;
  TORCH_ARG(double, d_coef) = 1.0;
  // Upper bound of d's growth per step (multiplicative); infinity: unbounded.
  TORCH_ARG(double, growth_rate) = std::numeric_limits<double>::infinity();

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

struct OMNI_API ProdigyParamState
    : public torch::optim::OptimizerCloneableParamState<ProdigyParamState> {
  TORCH_ARG(std::int64_t, step) = 0;
  TORCH_ARG(at::Tensor, exp_avg);     // Adam's first moment of d-scaled gradients
  TORCH_ARG(at::Tensor, exp_avg_sq);  // second moment
  TORCH_ARG(at::Tensor, s);           // weighted gradient sum of the d estimate
  TORCH_ARG(at::Tensor, p0);          // the initial weights (a 0-d zero when they were all 0)

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

// The step-size estimate shared by all parameter groups.
struct ProdigyEstimate {
  double d = 1e-6;
  double d_max = 1e-6;
  double d_numerator = 0.0;
  double d_denom = 0.0;
  double d_hat = 0.0;
  std::int64_t k = 0;  // steps taken (the bias correction's exponent)
};

class OMNI_API Prodigy : public torch::optim::Optimizer {
 public:
  explicit Prodigy(std::vector<at::Tensor> params, ProdigyOptions defaults = {});

  at::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  const ProdigyEstimate& estimate() const { return estimate_; }

 private:
  ProdigyEstimate estimate_;
};

}  // namespace omni
