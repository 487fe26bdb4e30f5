#include "flux_kontext/commands/debug_vae.hpp"

#include <iostream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "commands/debug_command_support.hpp"
#include "flux_kontext/vae/autoencoder_kl.hpp"
#include "omni/device.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {
namespace {

int run_debug_vae(const std::vector<std::string>& arguments) {
  cxxopts::Options options("omnihost debug vae",
                           "Encode `image` and decode `decode_input_normalized` from a cases "
                           "file with the model's VAE; write `latent_mean` and `decoded`.");
  options.add_options()
      ("model", "diffusers model folder or repo id (or its vae/ folder)", cxxopts::value<std::string>())
      ("cases", "input safetensors file", cxxopts::value<std::string>())
      ("out", "output safetensors file", cxxopts::value<std::string>())
      ("device", "cpu, cuda or cuda:N", cxxopts::value<std::string>()->default_value("cpu"))
      ("tile", "tile size in pixels for tiled encode/decode (0: no tiling)",
       cxxopts::value<std::int64_t>()->default_value("0"))
      ("tile-overlap", "fraction of a tile shared with its neighbour",
       cxxopts::value<double>()->default_value("0.25"))
      ("h,help", "show this help");
  const auto parsed = omni::parse_command_options(options, arguments, {"model", "cases", "out"});
  if (!parsed) return 0;

  const c10::Device device = omni::parse_device((*parsed)["device"].as<std::string>(), "--device");
  const auto cases = omni::SafetensorsFile::open((*parsed)["cases"].as<std::string>());
  const at::Tensor image = detail::case_tensor(*cases, "image");
  const at::Tensor normalized = detail::case_tensor(*cases, "decode_input_normalized");

  VaeLoadOptions load;
  load.device = device;
  AutoencoderKL vae = load_autoencoder_kl(
      detail::component_folder((*parsed)["model"].as<std::string>(), "vae"), load);
  if (const auto tile = (*parsed)["tile"].as<std::int64_t>(); tile > 0) {
    vae->set_tiling(VaeTiling{true, tile, (*parsed)["tile-overlap"].as<double>()});
  }

  torch::NoGradGuard no_grad;
  const at::Tensor latent_mean = vae->encode(image).mean.to(at::kCPU, at::kFloat);
  const at::Tensor decoded = vae->decode(vae->denormalize(normalized.to(device))).to(at::kCPU, at::kFloat);
  const std::string out = (*parsed)["out"].as<std::string>();
  omni::save_safetensors(out, {{"latent_mean", latent_mean}, {"decoded", decoded}},
                         {{"note", "omnihost debug vae"}});
  std::cout << fmt::format("wrote latent_mean {} and decoded {} to {}\n",
                           fmt::join(latent_mean.sizes(), "x"), fmt::join(decoded.sizes(), "x"),
                           out);
  return 0;
}

}  // namespace

omni::CommandFactory debug_vae_command() {
  return omni::CommandFactory{"debug vae",
                              "run the VAE on a cases file (image -> latent_mean, "
                              "decode_input_normalized -> decoded)",
                              run_debug_vae};
}

}  // namespace flux_kontext
