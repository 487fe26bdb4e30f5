#include "omni/training/timestep_sampling.hpp"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"

namespace omni {

double sample_sigma(const TimestepSampling& sampling, at::Generator generator) {
  double sigma = 0;
  if (sampling.kind == "uniform") {
    sigma = at::rand({1}, generator, at::kDouble).item<double>();
  } else if (sampling.kind == "logit_normal") {
    const double z = at::randn({1}, generator, at::kDouble).item<double>();
    sigma = 1.0 / (1.0 + std::exp(-(sampling.logit_mean + sampling.logit_std * z)));
  } else if (sampling.kind == "sigmoid") {
    const double z = at::randn({1}, generator, at::kDouble).item<double>();
    sigma = 1.0 / (1.0 + std::exp(-sampling.sigmoid_scale * z));
  } else {
    throw Error(fmt::format(
        "train.timestep_sampling: unknown kind '{}' (expected uniform, logit_normal or sigmoid)",
        sampling.kind));
  }
  if (sampling.mu) {
    const double e = std::exp(*sampling.mu);
    sigma = sigma <= 0 ? 0 : e / (e + (1.0 / sigma - 1.0));
  }
  // Keep away from the ends, where x_t is pure data or pure noise and the target degenerates.
  return std::clamp(sigma, 1e-5, 1.0 - 1e-5);
}

}  // namespace omni
