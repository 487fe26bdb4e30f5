#pragma once
// Where on the noise path a training sample is taken: sigma in (0, 1), x_t = (1 - sigma) x0
// + sigma * noise. The densities of diffusers' compute_density_for_timestep_sampling and the
// SD3/Flux trainers, plus Flux's resolution-dependent shift.
#include <optional>
#include <string>

#include <ATen/core/Generator.h>

#include "omni/export.hpp"

namespace omni {

struct TimestepSampling {
  std::string kind = "uniform";  // uniform | logit_normal | sigmoid
  double logit_mean = 0.0;       // logit_normal
  double logit_std = 1.0;        // logit_normal
  double sigmoid_scale = 1.0;    // sigmoid: sigmoid(scale * N(0, 1))
  // The resolution-dependent shift (mu from the target's token count, as at inference):
  // sigma' = e^mu / (e^mu + (1/sigma - 1)). None: no shift.
  std::optional<double> mu;
};

// One sigma drawn with `generator`. Throws Error for an unknown kind.
OMNI_API double sample_sigma(const TimestepSampling& sampling, at::Generator generator);

}  // namespace omni
