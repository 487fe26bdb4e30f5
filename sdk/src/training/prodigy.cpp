#include "omni/training/prodigy.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/optim/serialize.h>
#include <torch/serialize/archive.h>

#include "omni/error.hpp"
#include "optimizer_state.hpp"

namespace omni {
namespace {

using optimizer_state::read_scalar;
using optimizer_state::read_value;
using optimizer_state::write_scalar;

double read_double(torch::serialize::InputArchive& archive, const char* key) {
  return read_value(archive, key).toDouble();
}

bool read_bool(torch::serialize::InputArchive& archive, const char* key) {
  return read_value(archive, key).toBool();
}

}  // namespace

ProdigyOptions::ProdigyOptions(double lr) : lr_(lr) {}

double ProdigyOptions::get_lr() const { return lr(); }
void ProdigyOptions::set_lr(const double lr) { this->lr(lr); }

void ProdigyOptions::serialize(torch::serialize::OutputArchive& archive) const {
  archive.write("lr", c10::IValue(lr()));
  archive.write("beta1", c10::IValue(beta1()));
  archive.write("beta2", c10::IValue(beta2()));
  archive.write("has_beta3", c10::IValue(beta3().has_value()));
  archive.write("beta3", c10::IValue(beta3().value_or(0.0)));
  archive.write("eps", c10::IValue(eps()));
  archive.write("weight_decay", c10::IValue(weight_decay()));
  archive.write("decouple", c10::IValue(decouple()));
  archive.write("use_bias_correction", c10::IValue(use_bias_correction()));
  archive.write("safeguard_warmup", c10::IValue(safeguard_warmup()));
  archive.write("d0", c10::IValue(d0()));
  archive.write("d_coef", c10::IValue(d_coef()));
  archive.write("growth_rate", c10::IValue(growth_rate()));
}

void ProdigyOptions::serialize(torch::serialize::InputArchive& archive) {
  lr(read_double(archive, "lr"));
  beta1(read_double(archive, "beta1"));
  beta2(read_double(archive, "beta2"));
  const bool has_beta3 = read_bool(archive, "has_beta3");
  const double beta3_value = read_double(archive, "beta3");
  beta3(has_beta3 ? std::optional<double>(beta3_value) : std::nullopt);
  eps(read_double(archive, "eps"));
  weight_decay(read_double(archive, "weight_decay"));
  decouple(read_bool(archive, "decouple"));
  use_bias_correction(read_bool(archive, "use_bias_correction"));
  safeguard_warmup(read_bool(archive, "safeguard_warmup"));
  d0(read_double(archive, "d0"));
  d_coef(read_double(archive, "d_coef"));
  growth_rate(read_double(archive, "growth_rate"));
}

void ProdigyParamState::serialize(torch::serialize::OutputArchive& archive) const {
  archive.write("step", c10::IValue(step()));
  archive.write("exp_avg", exp_avg(), /*is_buffer=*/true);
  archive.write("exp_avg_sq", exp_avg_sq(), /*is_buffer=*/true);
  archive.write("s", s(), /*is_buffer=*/true);
  archive.write("p0", p0(), /*is_buffer=*/true);
}

void ProdigyParamState::serialize(torch::serialize::InputArchive& archive) {
  step(read_value(archive, "step").toInt());
  // A fresh handle per read: reading into a defined tensor overwrites its storage in place.
  auto read_tensor = [&](const char* key) {
    at::Tensor tensor;
    archive.read(key, tensor, /*is_buffer=*/true);
    return tensor;
  };
  exp_avg(read_tensor("exp_avg"));
  exp_avg_sq(read_tensor("exp_avg_sq"));
  s(read_tensor("s"));
  p0(read_tensor("p0"));
}

Prodigy::Prodigy(std::vector<at::Tensor> params, ProdigyOptions defaults)
    : torch::optim::Optimizer({torch::optim::OptimizerParamGroup(std::move(params))},
                              std::make_unique<ProdigyOptions>(defaults)) {
  auto check = [](bool ok, const std::string& what) {
    if (!ok) throw Error(fmt::format("Prodigy: invalid {}", what));
  };
  check(defaults.lr() > 0, fmt::format("learning rate {} (expected > 0)", defaults.lr()));
  check(defaults.eps() > 0, fmt::format("eps {} (expected > 0)", defaults.eps()));
  check(defaults.d0() > 0, fmt::format("d0 {} (expected > 0)", defaults.d0()));
  check(defaults.beta1() >= 0 && defaults.beta1() < 1,
        fmt::format("beta1 {} (expected 0 <= beta1 < 1)", defaults.beta1()));
  check(defaults.beta2() >= 0 && defaults.beta2() < 1,
        fmt::format("beta2 {} (expected 0 <= beta2 < 1)", defaults.beta2()));
  check(defaults.weight_decay() >= 0,
        fmt::format("weight_decay {} (expected >= 0)", defaults.weight_decay()));
  estimate_.d = defaults.d0();
  estimate_.d_max = defaults.d0();
}

at::Tensor Prodigy::step(LossClosure closure) {
  at::Tensor loss;
  if (closure) {
    torch::AutoGradMode enable_grad(true);
    loss = closure();
  }
  torch::NoGradGuard no_grad;
  const auto& first = static_cast<const ProdigyOptions&>(param_groups_.front().options());
  const double beta1 = first.beta1();
  const double beta2 = first.beta2();
  const double beta3 = first.beta3().value_or(std::sqrt(beta2));
  double lr = 0;
  for (const auto& group : param_groups_) lr = std::max(lr, group.options().get_lr());
  const auto k = static_cast<double>(estimate_.k);
  const double bias_correction =
      first.use_bias_correction()
          ? std::sqrt(1 - std::pow(beta2, k + 1)) / (1 - std::pow(beta1, k + 1))
          : 1.0;
  const double d = estimate_.d;
  const double dlr = d * lr * bias_correction;

  // First pass: update the moments and the sums behind the estimate of d,
  //   numerator  = beta3 * numerator + (d/d0) * dlr * <g, p0 - p>
  //   s          = beta3 * s + (d/d0) * dlr * g      (d instead of dlr with safeguard_warmup)
  //   denominator = sum |s|.
  // The d/d0 factor keeps the sums away from tiny values while d is still near d0.
  double d_numerator = estimate_.d_numerator * beta3;
  double d_denom = 0;
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const ProdigyOptions&>(group.options());
    const double group_lr = options.lr();
    if (group_lr != lr && group_lr != 0) {
      throw Error("Prodigy: parameter groups may differ in learning rate only by having 0");
    }
    const double d0 = options.d0();
    for (const at::Tensor& param : group.params()) {
      if (!param.grad().defined()) continue;
      at::Tensor grad = param.grad().to(at::kFloat);
      const at::Tensor weights = param.detach().to(at::kFloat);
      if (options.weight_decay() != 0 && !options.decouple()) {
        grad = grad + options.weight_decay() * weights;
      }
      auto& slot = state_[optimizer_state::key(param)];
      if (!slot) {
        auto state = std::make_unique<ProdigyParamState>();
        state->exp_avg(at::zeros_like(weights));
        state->exp_avg_sq(at::zeros_like(weights));
        state->s(at::zeros({weights.numel()}, weights.options()));
        // All-zero weights (PEFT's lora_B) need no copy: a 0-d zero broadcasts the same.
        state->p0(weights.any().item<bool>() ? weights.flatten().clone()
                                             : at::zeros({}, weights.options()));
        slot = std::move(state);
      }
      auto& state = static_cast<ProdigyParamState&>(*slot);
      if (group_lr > 0) {
        const at::Tensor flat_grad = grad.flatten();
        d_numerator +=
            (d / d0) * dlr * at::dot(flat_grad, state.p0() - weights.flatten()).item<double>();
        state.exp_avg().mul_(beta1).add_(grad, d * (1 - beta1));
        state.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, d * d * (1 - beta2));
        const double s_weight = options.safeguard_warmup() ? (d / d0) * d : (d / d0) * dlr;
        state.s().mul_(beta3).add_(flat_grad, s_weight);
        d_denom += state.s().abs().sum().item<double>();
      }
    }
  }
  // No gradient at all (or lr 0): prodigyopt takes no step and leaves the estimate as it was.
  if (d_denom == 0) return loss;

  double new_d = d;
  double d_max = estimate_.d_max;
  double d_hat = d;
  if (lr > 0) {
    d_hat = first.d_coef() * d_numerator / d_denom;
    if (d == first.d0()) new_d = std::max(d, d_hat);
    d_max = std::max(d_max, d_hat);
    new_d = std::min(d_max, new_d * first.growth_rate());
  }
  estimate_.d = new_d;
  estimate_.d_max = d_max;
  estimate_.d_hat = d_hat;
  estimate_.d_numerator = d_numerator;
  estimate_.d_denom = d_denom;

  // Second pass: the Adam step with the new d in the denominator's eps and the old d in dlr,
  // as prodigyopt does.
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const ProdigyOptions&>(group.options());
    for (at::Tensor& param : group.params()) {
      if (!param.grad().defined()) continue;
      auto& state = static_cast<ProdigyParamState&>(*state_.at(optimizer_state::key(param)));
      state.step(state.step() + 1);
      const at::Tensor denom = state.exp_avg_sq().sqrt().add_(new_d * options.eps());
      // fp32 weights are updated in place; others through an fp32 copy, rounded once.
      const bool fp32 = param.scalar_type() == at::kFloat;
      at::Tensor weights = fp32 ? param.detach() : param.detach().to(at::kFloat);
      if (options.weight_decay() != 0 && options.decouple()) {
        weights.add_(weights, -options.weight_decay() * dlr);
      }
      weights.addcdiv_(state.exp_avg(), denom, -dlr);
      if (!fp32) param.detach().copy_(weights);
    }
  }
  estimate_.k += 1;
  return loss;
}

void Prodigy::save(torch::serialize::OutputArchive& archive) const {
  torch::optim::serialize<ProdigyParamState, ProdigyOptions>(archive, *this);
  write_scalar(archive, "prodigy/d", estimate_.d);
  write_scalar(archive, "prodigy/d_max", estimate_.d_max);
  write_scalar(archive, "prodigy/d_numerator", estimate_.d_numerator);
  write_scalar(archive, "prodigy/d_denom", estimate_.d_denom);
  write_scalar(archive, "prodigy/d_hat", estimate_.d_hat);
  write_scalar(archive, "prodigy/k", static_cast<double>(estimate_.k));
}

void Prodigy::load(torch::serialize::InputArchive& archive) {
  // Read ours first: an archive of another optimizer fails with a message naming the key
  // rather than a LibTorch internal assertion.
  ProdigyEstimate loaded;
  loaded.d = read_scalar(archive, "prodigy/d", "Prodigy");
  loaded.d_max = read_scalar(archive, "prodigy/d_max", "Prodigy");
  loaded.d_numerator = read_scalar(archive, "prodigy/d_numerator", "Prodigy");
  loaded.d_denom = read_scalar(archive, "prodigy/d_denom", "Prodigy");
  loaded.d_hat = read_scalar(archive, "prodigy/d_hat", "Prodigy");
  loaded.k = static_cast<std::int64_t>(read_scalar(archive, "prodigy/k", "Prodigy"));
  torch::optim::serialize<ProdigyParamState, ProdigyOptions>(archive, *this);
  estimate_ = loaded;
}

}  // namespace omni
