#include "flux_kontext/commands/debug_flux_sample.hpp"

#include <iostream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/grad_mode.h>

#include "commands/debug_command_support.hpp"
#include "flux_kontext/sampling/flux_sampler.hpp"
#include "omni/device.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {
namespace {

constexpr const char* kName = "omnihost debug flux-sample";

// The target size [H, W] in pixels from the file's metadata `target_hw`.
std::pair<std::int64_t, std::int64_t> target_size(const omni::SafetensorsFile& cases) {
  const auto& metadata = cases.metadata();
  const auto found = metadata.find("target_hw");
  if (found == metadata.end()) {
    throw omni::Error(fmt::format("{}: '{}' has no metadata 'target_hw' ([H, W] in pixels)", kName,
                                  cases.path().string()));
  }
  try {
    const nlohmann::json hw = nlohmann::json::parse(found->second);
    return {hw.at(0).get<std::int64_t>(), hw.at(1).get<std::int64_t>()};
  } catch (const nlohmann::json::exception&) {
    throw omni::Error(fmt::format("{}: metadata 'target_hw' of '{}' must be [H, W], got '{}'",
                                  kName, cases.path().string(), found->second));
  }
}

int run_debug_flux_sample(const std::vector<std::string>& arguments) {
  cxxopts::Options options(kName,
                           "Run the Euler sampling loop of FluxKontextPipeline on a cases "
                           "file's inputs; write TAG.final_latents and TAG.image.");
  options.add_options()
      ("model", "diffusers pipeline folder or repo id (transformer/, vae/, scheduler/)",
       cxxopts::value<std::string>())
      ("cases", "input safetensors file", cxxopts::value<std::string>())
      ("tag", "input set: reads TAG.initial_noise, TAG.control_tokens, TAG.img_ids",
       cxxopts::value<std::string>())
      ("steps", "number of steps (default: the file's metadata 'steps')",
       cxxopts::value<std::int64_t>())
      ("out", "output safetensors file", cxxopts::value<std::string>())
      ("device", "cpu, cuda or cuda:N", cxxopts::value<std::string>()->default_value("cpu"))
      ("h,help", "show this help");
  const auto parsed =
      omni::parse_command_options(options, arguments, {"model", "cases", "tag", "out"});
  if (!parsed) return 0;
  const std::string tag = (*parsed)["tag"].as<std::string>();
  const std::string model = (*parsed)["model"].as<std::string>();
  const c10::Device device = omni::parse_device((*parsed)["device"].as<std::string>(), "--device");

  // Every input is read and checked before a model is loaded.
  const auto cases = omni::SafetensorsFile::open((*parsed)["cases"].as<std::string>());
  std::int64_t steps = 0;
  if (parsed->count("steps")) {
    steps = (*parsed)["steps"].as<std::int64_t>();
  } else if (auto found = cases->metadata().find("steps"); found != cases->metadata().end()) {
    steps = std::stoll(found->second);
  } else {
    throw omni::Error(fmt::format("{}: --steps is required ('{}' has no metadata 'steps')", kName,
                                  cases->path().string()));
  }
  const auto [height, width] = target_size(*cases);
  FluxSamplingInputs inputs;
  inputs.initial_noise = detail::case_tensor(*cases, tag + ".initial_noise").to(device);
  if (cases->contains(tag + ".control_tokens")) {
    inputs.control_tokens = detail::case_tensor(*cases, tag + ".control_tokens").to(device);
  }
  inputs.img_ids = detail::case_tensor(*cases, tag + ".img_ids").to(device);
  inputs.prompt.encoder_hidden_states =
      detail::case_tensor(*cases, "encoder_hidden_states").to(device);
  inputs.prompt.pooled_projections = detail::case_tensor(*cases, "pooled_projections").to(device);
  FluxSamplingOptions sampling;
  sampling.steps = steps;
  sampling.guidance_scale = detail::case_tensor(*cases, "guidance").flatten()[0].item<double>();

  FluxTransformerLoadOptions transformer_load;
  transformer_load.device = device;
  FluxTransformer2DModel transformer =
      load_flux_transformer(detail::component_folder(model, "transformer"), transformer_load);
  VaeLoadOptions vae_load;
  vae_load.device = device;
  AutoencoderKL vae = load_autoencoder_kl(detail::component_folder(model, "vae"), vae_load);
  FlowMatchEulerDiscreteScheduler scheduler(
      FlowMatchSchedulerConfig::load(detail::component_folder(model, "scheduler")));

  torch::NoGradGuard no_grad;
  const at::Tensor final_latents = sample_flux(*transformer, scheduler, inputs, sampling);
  const at::Tensor image = decode_packed_latents(*vae, final_latents, height, width);
  const std::string out = (*parsed)["out"].as<std::string>();
  omni::save_safetensors(out,
                         {{tag + ".final_latents", final_latents.to(at::kCPU, at::kFloat)},
                          {tag + ".image", image.to(at::kCPU, at::kFloat)}},
                         {{"note", "omnihost debug flux-sample"}, {"steps", std::to_string(steps)}});
  std::cout << fmt::format("wrote {0}.final_latents and {0}.image ({1} steps) to {2}\n", tag, steps,
                           out);
  return 0;
}

}  // namespace

omni::CommandFactory debug_flux_sample_command() {
  return omni::CommandFactory{"debug flux-sample",
                              "run the Euler sampling loop and VAE decode on a cases file",
                              run_debug_flux_sample};
}

}  // namespace flux_kontext
