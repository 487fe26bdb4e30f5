#pragma once
// diffusers' FlowMatchEulerDiscreteScheduler as Flux uses it: sigmas from 1 down to 0 with
// (dynamic) timestep shifting, and the Euler step x += (sigma_next - sigma) * v.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <nlohmann/json_fwd.hpp>


namespace flux_kontext {

enum class TimeShiftType { exponential, linear };

struct FlowMatchSchedulerConfig {
  std::int64_t num_train_timesteps = 1000;
  double shift = 1.0;  // the fixed shift, used without dynamic shifting
  bool use_dynamic_shifting = false;
  // Flux's resolution-dependent shift: mu grows linearly with the image token count.
  double base_shift = 0.5;
  double max_shift = 1.15;
  std::int64_t base_image_seq_len = 256;
  std::int64_t max_image_seq_len = 4096;
  std::optional<double> shift_terminal;  // stretch the schedule to end at this sigma
  TimeShiftType time_shift_type = TimeShiftType::exponential;
  bool invert_sigmas = false;
  bool stochastic_sampling = false;

  // Absent keys take diffusers' defaults; wrong types, inconsistent values and schedule
  // variants this port lacks (karras, exponential, beta sigmas) are errors naming `source`
  // and the key.
  static FlowMatchSchedulerConfig from_json(const nlohmann::json& json, const std::string& source);
  // `path`: a scheduler_config.json, or a folder holding one (a diffusers `scheduler/`).
  static FlowMatchSchedulerConfig load(const std::filesystem::path& path);
};

class FlowMatchEulerDiscreteScheduler {
 public:
  explicit FlowMatchEulerDiscreteScheduler(FlowMatchSchedulerConfig config = {});

  const FlowMatchSchedulerConfig& config() const { return config_; }

  // The Flux pipelines' calculate_shift: mu for a target of `image_seq_len` packed tokens,
  // linear through (base_image_seq_len, base_shift) and (max_image_seq_len, max_shift).
  double mu_for(std::int64_t image_seq_len) const;

  // The default schedule: `num_steps` sigmas evenly spaced from sigma_max to sigma_min.
  // `mu` is required with dynamic shifting. Throws omni::Error otherwise.
  void set_timesteps(std::int64_t num_steps, std::optional<double> mu = std::nullopt,
                     c10::Device device = c10::Device(c10::kCPU));
  // Explicit sigmas before shifting (the Flux pipelines pass linspace(1, 1/N, N)).
  void set_timesteps(const std::vector<double>& sigmas, std::optional<double> mu = std::nullopt,
                     c10::Device device = c10::Device(c10::kCPU));

  std::int64_t num_steps() const { return timesteps_.defined() ? timesteps_.size(0) : 0; }
  // float32: sigmas [N + 1] (terminal 0 appended), timesteps [N] = sigmas * num_train_timesteps.
  const at::Tensor& sigmas() const { return sigmas_; }
  const at::Tensor& timesteps() const { return timesteps_; }
  double sigma(std::int64_t index) const;

  // One Euler step from sigmas[index] to sigmas[index + 1], in float32, returned in
  // model_output's dtype: sample + (sigma_next - sigma) * model_output. With
  // stochastic_sampling, re-noises the x0 estimate with noise from `generator` instead.
  at::Tensor step(const at::Tensor& model_output, std::int64_t index, const at::Tensor& sample,
                  std::optional<at::Generator> generator = std::nullopt) const;

  // The forward process for training: sigma * noise + (1 - sigma) * sample.
  static at::Tensor scale_noise(const at::Tensor& sample, const at::Tensor& sigma,
                                const at::Tensor& noise);

 private:
  at::Tensor shifted(at::Tensor sigmas, std::optional<double> mu) const;
  void finish(at::Tensor sigmas, c10::Device device);

  FlowMatchSchedulerConfig config_;
  double sigma_min_ = 0.0;
  double sigma_max_ = 1.0;
  at::Tensor sigmas_;
  at::Tensor timesteps_;
};

}  // namespace flux_kontext
