#include "flux_kontext/sampling/flow_match_scheduler.hpp"

#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/json_config.hpp"
#include "omni/error.hpp"

namespace flux_kontext {

FlowMatchSchedulerConfig FlowMatchSchedulerConfig::from_json(const nlohmann::json& json,
                                                             const std::string& source) {
  const omni::JsonConfig reader(json, source);
  const std::string class_name = reader.get<std::string>("_class_name", "FlowMatchEulerDiscreteScheduler");
  if (class_name != "FlowMatchEulerDiscreteScheduler") {
    reader.fail("_class_name",
                fmt::format("expected \"FlowMatchEulerDiscreteScheduler\", got \"{}\"", class_name));
  }
  FlowMatchSchedulerConfig config;
  config.num_train_timesteps = reader.get<std::int64_t>("num_train_timesteps", config.num_train_timesteps);
  config.shift = reader.get<double>("shift", config.shift);
  config.use_dynamic_shifting = reader.get<bool>("use_dynamic_shifting", config.use_dynamic_shifting);
  config.base_shift = reader.get<double>("base_shift", config.base_shift);
  config.max_shift = reader.get<double>("max_shift", config.max_shift);
  config.base_image_seq_len = reader.get<std::int64_t>("base_image_seq_len", config.base_image_seq_len);
  config.max_image_seq_len = reader.get<std::int64_t>("max_image_seq_len", config.max_image_seq_len);
  config.shift_terminal = reader.get_optional<double>("shift_terminal");
  config.invert_sigmas = reader.get<bool>("invert_sigmas", config.invert_sigmas);
  config.stochastic_sampling = reader.get<bool>("stochastic_sampling", config.stochastic_sampling);

  const std::string shift_type = reader.get<std::string>("time_shift_type", "exponential");
  if (shift_type == "exponential") {
    config.time_shift_type = TimeShiftType::exponential;
  } else if (shift_type == "linear") {
    config.time_shift_type = TimeShiftType::linear;
  } else {
    reader.fail("time_shift_type",
                fmt::format("expected \"exponential\" or \"linear\", got \"{}\"", shift_type));
  }
  for (const char* key : {"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"}) {
    if (reader.get<bool>(key, false)) reader.fail(key, "this sigma schedule is not supported");
  }

  if (config.num_train_timesteps <= 0) {
    reader.fail("num_train_timesteps",
                fmt::format("expected a value > 0, got {}", config.num_train_timesteps));
  }
  if (!(config.shift > 0)) {
    reader.fail("shift", fmt::format("expected a value > 0, got {}", config.shift));
  }
  if (config.use_dynamic_shifting && config.max_image_seq_len <= config.base_image_seq_len) {
    reader.fail("max_image_seq_len",
                fmt::format("must be greater than base_image_seq_len ({}), got {}",
                            config.base_image_seq_len, config.max_image_seq_len));
  }
  if (config.shift_terminal && !(*config.shift_terminal > 0 && *config.shift_terminal < 1)) {
    reader.fail("shift_terminal",
                fmt::format("expected a value in (0, 1), got {}", *config.shift_terminal));
  }
  return config;
}

FlowMatchSchedulerConfig FlowMatchSchedulerConfig::load(const std::filesystem::path& path) {
  const std::filesystem::path file =
      std::filesystem::is_directory(path) ? path / "scheduler_config.json" : path;
  return from_json(omni::JsonConfig::read(file).json(), file.string());
}

FlowMatchEulerDiscreteScheduler::FlowMatchEulerDiscreteScheduler(FlowMatchSchedulerConfig config)
    : config_(std::move(config)) {
  // The training schedule's ends, in float32 as upstream builds them: sigmas N/N .. 1/N,
  // shifted by the fixed shift unless the shift is dynamic.
  const auto n = static_cast<float>(config_.num_train_timesteps);
  auto end_value = [&](float sigma) {
    if (!config_.use_dynamic_shifting) {
      const auto shift = static_cast<float>(config_.shift);
      sigma = shift * sigma / (1.0f + (shift - 1.0f) * sigma);
    }
    return static_cast<double>(sigma);
  };
  sigma_max_ = end_value(n / n);
  sigma_min_ = end_value(1.0f / n);
}

double FlowMatchEulerDiscreteScheduler::mu_for(std::int64_t image_seq_len) const {
  const double slope = (config_.max_shift - config_.base_shift) /
                       static_cast<double>(config_.max_image_seq_len - config_.base_image_seq_len);
  const double intercept = config_.base_shift - slope * static_cast<double>(config_.base_image_seq_len);
  return static_cast<double>(image_seq_len) * slope + intercept;
}

// Works in the dtype of `sigmas` (float32 for explicit sigmas, float64 for the default
// linspace, as upstream's numpy arrays are), so the rounding matches.
at::Tensor FlowMatchEulerDiscreteScheduler::shifted(at::Tensor sigmas,
                                                    std::optional<double> mu) const {
  if (config_.use_dynamic_shifting) {
    if (!mu) {
      throw omni::Error("FlowMatchEulerDiscreteScheduler: dynamic shifting is on, so set_timesteps "
                        "needs mu (see mu_for)");
    }
    // exponential: e^mu / (e^mu + (1/t - 1)); linear: mu / (mu + (1/t - 1)).
    const double numerator =
        config_.time_shift_type == TimeShiftType::exponential ? std::exp(*mu) : *mu;
    const at::Tensor top = at::full_like(sigmas, numerator);
    sigmas = top / (top + (sigmas.reciprocal() - 1.0));
  } else {
    sigmas = config_.shift * sigmas / ((config_.shift - 1.0) * sigmas + 1.0);
  }
  if (config_.shift_terminal) {
    const at::Tensor one_minus = 1.0 - sigmas;
    const at::Tensor scale = one_minus[-1] / (1.0 - *config_.shift_terminal);
    sigmas = 1.0 - one_minus / scale;
  }
  return sigmas;
}

void FlowMatchEulerDiscreteScheduler::finish(at::Tensor sigmas, c10::Device device) {
  sigmas = sigmas.to(at::kFloat);
  const auto n = static_cast<double>(config_.num_train_timesteps);
  at::Tensor terminal;
  if (config_.invert_sigmas) {
    sigmas = 1.0 - sigmas;
    terminal = at::ones({1}, sigmas.options());
  } else {
    terminal = at::zeros({1}, sigmas.options());
  }
  timesteps_ = (sigmas * n).to(device);
  sigmas_ = at::cat({sigmas, terminal}).to(device);
}

void FlowMatchEulerDiscreteScheduler::set_timesteps(std::int64_t num_steps,
                                                    std::optional<double> mu, c10::Device device) {
  if (num_steps <= 0) {
    throw omni::Error(fmt::format("FlowMatchEulerDiscreteScheduler: the number of steps must be "
                                  "> 0, got {}",
                                  num_steps));
  }
  const double n = static_cast<double>(config_.num_train_timesteps);
  const at::Tensor timesteps = at::linspace(sigma_max_ * n, sigma_min_ * n, num_steps,
                                            at::TensorOptions().dtype(at::kDouble));
  finish(shifted(timesteps / n, mu), device);
}

void FlowMatchEulerDiscreteScheduler::set_timesteps(const std::vector<double>& sigmas,
                                                    std::optional<double> mu, c10::Device device) {
  if (sigmas.empty()) {
    throw omni::Error("FlowMatchEulerDiscreteScheduler: set_timesteps got no sigmas");
  }
  for (double sigma : sigmas) {
    if (!(sigma > 0.0 && sigma <= 1.0)) {
      throw omni::Error(fmt::format("FlowMatchEulerDiscreteScheduler: sigmas must lie in (0, 1], "
                                    "got {}",
                                    sigma));
    }
  }
  const at::Tensor values =
      at::tensor(sigmas, at::TensorOptions().dtype(at::kDouble)).to(at::kFloat);
  finish(shifted(values, mu), device);
}

double FlowMatchEulerDiscreteScheduler::sigma(std::int64_t index) const {
  if (!sigmas_.defined() || index < 0 || index >= sigmas_.size(0)) {
    throw omni::Error(fmt::format("FlowMatchEulerDiscreteScheduler: sigma index {} is out of "
                                  "range (set_timesteps gave {} sigmas)",
                                  index, sigmas_.defined() ? sigmas_.size(0) : 0));
  }
  return sigmas_[index].item<double>();
}

at::Tensor FlowMatchEulerDiscreteScheduler::step(const at::Tensor& model_output,
                                                 std::int64_t index, const at::Tensor& sample,
                                                 std::optional<at::Generator> generator) const {
  if (index < 0 || index >= num_steps()) {
    throw omni::Error(fmt::format("FlowMatchEulerDiscreteScheduler: step {} is out of range (the "
                                  "schedule has {} steps)",
                                  index, num_steps()));
  }
  const at::Tensor current = sample.to(at::kFloat);
  const at::Tensor sigma = sigmas_[index].to(current.device());
  const at::Tensor sigma_next = sigmas_[index + 1].to(current.device());
  at::Tensor previous;
  if (config_.stochastic_sampling) {
    const at::Tensor x0 = current - sigma * model_output;
    const at::Tensor noise = at::randn(
        current.sizes(), generator ? c10::optional<at::Generator>(*generator) : c10::nullopt,
        current.options());
    previous = (1.0 - sigma_next) * x0 + sigma_next * noise;
  } else {
    previous = current + (sigma_next - sigma) * model_output;
  }
  return previous.to(model_output.scalar_type());
}

at::Tensor FlowMatchEulerDiscreteScheduler::scale_noise(const at::Tensor& sample,
                                                        const at::Tensor& sigma,
                                                        const at::Tensor& noise) {
  return sigma * noise + (1.0 - sigma) * sample;
}

}  // namespace flux_kontext
