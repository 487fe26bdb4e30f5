#include "omni/training/adafactor.hpp"

#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/optim/serialize.h>
#include <torch/serialize/archive.h>

#include "omni/error.hpp"
#include "optimizer_state.hpp"

namespace omni {
namespace {

using optimizer_state::read_value;

// Root mean square of all elements.
at::Tensor rms(const at::Tensor& tensor) {
  return tensor.norm(2) / std::sqrt(static_cast<double>(tensor.numel()));
}

void write_if_defined(torch::serialize::OutputArchive& archive, const char* key,
                      const at::Tensor& tensor) {
  if (tensor.defined()) archive.write(key, tensor, /*is_buffer=*/true);
}

at::Tensor read_if_present(torch::serialize::InputArchive& archive, const char* key) {
  at::Tensor tensor;
  if (!archive.try_read(key, tensor, /*is_buffer=*/true)) return {};
  return tensor;
}

}  // namespace

AdafactorOptions::AdafactorOptions(double lr) : lr_(lr) {}

double AdafactorOptions::get_lr() const { return lr(); }
void AdafactorOptions::set_lr(const double lr) { this->lr(lr); }

void AdafactorOptions::serialize(torch::serialize::OutputArchive& archive) const {
  archive.write("lr", c10::IValue(lr()));
  archive.write("eps", c10::IValue(eps()));
  archive.write("clip_threshold", c10::IValue(clip_threshold()));
  archive.write("decay_rate", c10::IValue(decay_rate()));
  archive.write("weight_decay", c10::IValue(weight_decay()));
}

void AdafactorOptions::serialize(torch::serialize::InputArchive& archive) {
  lr(read_value(archive, "lr").toDouble());
  eps(read_value(archive, "eps").toDouble());
  clip_threshold(read_value(archive, "clip_threshold").toDouble());
  decay_rate(read_value(archive, "decay_rate").toDouble());
  weight_decay(read_value(archive, "weight_decay").toDouble());
}

void AdafactorParamState::serialize(torch::serialize::OutputArchive& archive) const {
  archive.write("step", c10::IValue(step()));
  write_if_defined(archive, "exp_avg_sq_row", exp_avg_sq_row());
  write_if_defined(archive, "exp_avg_sq_col", exp_avg_sq_col());
  write_if_defined(archive, "exp_avg_sq", exp_avg_sq());
}

void AdafactorParamState::serialize(torch::serialize::InputArchive& archive) {
  step(read_value(archive, "step").toInt());
  exp_avg_sq_row(read_if_present(archive, "exp_avg_sq_row"));
  exp_avg_sq_col(read_if_present(archive, "exp_avg_sq_col"));
  exp_avg_sq(read_if_present(archive, "exp_avg_sq"));
}

Adafactor::Adafactor(std::vector<at::Tensor> params, AdafactorOptions defaults)
    : torch::optim::Optimizer({torch::optim::OptimizerParamGroup(std::move(params))},
                              std::make_unique<AdafactorOptions>(defaults)) {
  if (!(defaults.lr() > 0)) {
    throw Error(fmt::format("Adafactor: invalid learning rate {} (expected > 0)", defaults.lr()));
  }
  if (defaults.weight_decay() < 0) {
    throw Error(fmt::format("Adafactor: invalid weight_decay {} (expected >= 0)",
                                  defaults.weight_decay()));
  }
}

at::Tensor Adafactor::step(LossClosure closure) {
  at::Tensor loss;
  if (closure) {
    torch::AutoGradMode enable_grad(true);
    loss = closure();
  }
  torch::NoGradGuard no_grad;
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const AdafactorOptions&>(group.options());
    const double lr = options.lr();
    for (at::Tensor& param : group.params()) {
      if (!param.grad().defined()) continue;
      const at::Tensor grad = param.grad().to(at::kFloat);
      // A matrix (or a stack of them) keeps row and column statistics only.
      const bool factored = grad.dim() >= 2;
      auto& slot = state_[optimizer_state::key(param)];
      if (!slot) {
        auto state = std::make_unique<AdafactorParamState>();
        if (factored) {
          state->exp_avg_sq_row(at::zeros(grad.sizes().slice(0, grad.dim() - 1), grad.options()));
          std::vector<std::int64_t> col(grad.sizes().begin(), grad.sizes().end());
          col.erase(col.end() - 2);
          state->exp_avg_sq_col(at::zeros(col, grad.options()));
        } else {
          state->exp_avg_sq(at::zeros_like(grad));
        }
        slot = std::move(state);
      }
      auto& state = static_cast<AdafactorParamState&>(*slot);
      state.step(state.step() + 1);
      const double beta2t = 1.0 - std::pow(static_cast<double>(state.step()), options.decay_rate());
      at::Tensor update = grad.pow(2) + options.eps();
      if (factored) {
        state.exp_avg_sq_row().mul_(beta2t).add_(update.mean(-1), 1.0 - beta2t);
        state.exp_avg_sq_col().mul_(beta2t).add_(update.mean(-2), 1.0 - beta2t);
        const at::Tensor& row = state.exp_avg_sq_row();
        const at::Tensor row_factor = (row / row.mean(-1, /*keepdim=*/true)).rsqrt_().unsqueeze(-1);
        const at::Tensor col_factor = state.exp_avg_sq_col().unsqueeze(-2).rsqrt();
        update = at::mul(row_factor, col_factor).mul_(grad);
      } else {
        state.exp_avg_sq().mul_(beta2t).add_(update, 1.0 - beta2t);
        update = state.exp_avg_sq().rsqrt().mul_(grad);
      }
      update.div_((rms(update) / options.clip_threshold()).clamp_min_(1.0));
      update.mul_(lr);
      const bool fp32 = param.scalar_type() == at::kFloat;
      at::Tensor weights = fp32 ? param.detach() : param.detach().to(at::kFloat);
      if (options.weight_decay() != 0) weights.add_(weights, -options.weight_decay() * lr);
      weights.sub_(update);
      if (!fp32) param.detach().copy_(weights);
    }
  }
  return loss;
}

void Adafactor::save(torch::serialize::OutputArchive& archive) const {
  torch::optim::serialize<AdafactorParamState, AdafactorOptions>(archive, *this);
  // Marks the archive as Adafactor's, so another optimizer's is refused with a clear message.
  optimizer_state::write_scalar(archive, "adafactor/format", 1);
}

void Adafactor::load(torch::serialize::InputArchive& archive) {
  optimizer_state::read_scalar(archive, "adafactor/format", "Adafactor");
  torch::optim::serialize<AdafactorParamState, AdafactorOptions>(archive, *this);
}

}  // namespace omni
