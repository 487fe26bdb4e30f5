#pragma once
// Adafactor (Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory
// Cost", arXiv:1804.04235) as `transformers.optimization.Adafactor` runs it with a given
// learning rate (relative_step, scale_parameter and warmup_init off, no first moment): the
// second moment of a matrix is kept as row and column means, updates are divided by their
// RMS beyond `clip_threshold`, and beta2 rises as 1 - step^decay_rate.
//
// State is fp32 whatever the parameters' dtype, and save()/load() hold all of it, so a run
// resumed from a checkpoint continues exactly.
#include <cstdint>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>

#include "omni/export.hpp"

namespace omni {

struct OMNI_API AdafactorOptions
    : public torch::optim::OptimizerCloneableOptions<AdafactorOptions> {
  AdafactorOptions(double lr = 1e-3);  // NOLINT: LibTorch's loader builds options from an lr
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(double, eps) = 1e-30;  // added to squared gradients (transformers' eps[0])
  TORCH_ARG(double, clip_threshold) = 1.0;
  TORCH_ARG(double, decay_rate) = -0.8;
  TORCH_ARG(double, weight_decay) = 0.0;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override;
  void set_lr(const double lr) override;
};

struct OMNI_API AdafactorParamState
    : public torch::optim::OptimizerCloneableParamState<AdafactorParamState> {
  TORCH_ARG(std::int64_t, step) = 0;
  TORCH_ARG(at::Tensor, exp_avg_sq_row);  // matrices: mean over the last dimension
  TORCH_ARG(at::Tensor, exp_avg_sq_col);  // matrices: mean over the second-to-last
  TORCH_ARG(at::Tensor, exp_avg_sq);      // vectors: the full second moment

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

class OMNI_API Adafactor : public torch::optim::Optimizer {
 public:
  explicit Adafactor(std::vector<at::Tensor> params, AdafactorOptions defaults = {});

  at::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
};

}  // namespace omni
