#include "flux_kontext/commands/debug_flux_forward.hpp"

#include <iostream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/autograd.h>

#include "commands/debug_command_support.hpp"
#include "flux_kontext/model/flux_transformer.hpp"
#include "omni/device.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {
namespace {

constexpr const char* kName = "debug flux-forward";
constexpr const char* kSummary =
    "run the Flux transformer on a tensors file's inputs and write TAG.output";

at::Tensor input(const omni::TensorSource& cases, const std::string& name) {
  if (!cases.contains(name)) {
    throw omni::Error(fmt::format("{}: {} has no tensor '{}'", kName, cases.description(), name));
  }
  return cases.tensor(name);
}

}  // namespace

int run_debug_flux_forward(const std::vector<std::string>& arguments) {
  cxxopts::Options options(std::string("omnihost ") + kName, kSummary);
  options.add_options()
      ("transformer", "diffusers transformer folder, or a BFL single-file checkpoint",
       cxxopts::value<std::string>())
      ("cases", "tensors file with the inputs", cxxopts::value<std::string>())
      ("tag", "input set: reads TAG.hidden_states and TAG.img_ids", cxxopts::value<std::string>())
      ("out", "safetensors file to write TAG.output to", cxxopts::value<std::string>())
      ("dtype", "weights dtype: fp32, bf16 or fp16", cxxopts::value<std::string>()->default_value("fp32"))
      ("device", "cpu, cuda or cuda:N", cxxopts::value<std::string>()->default_value("cpu"))
      ("h,help", "show this help");
  const auto parsed =
      omni::parse_command_options(options, arguments, {"transformer", "cases", "tag", "out"});
  if (!parsed) return 0;  // --help
  const std::string tag = (*parsed)["tag"].as<std::string>();
  FluxTransformerLoadOptions load;
  load.dtype =
      omni::parse_dtype((*parsed)["dtype"].as<std::string>(), std::string(kName) + " --dtype");
  load.device = omni::parse_device((*parsed)["device"].as<std::string>(), "--device");

  // Everything is read and checked before the model is loaded.
  const auto cases = omni::TensorSource::open((*parsed)["cases"].as<std::string>());
  FluxTransformerInputs inputs;
  inputs.hidden_states = input(*cases, tag + ".hidden_states");
  inputs.img_ids = input(*cases, tag + ".img_ids");
  inputs.encoder_hidden_states = input(*cases, "encoder_hidden_states");
  inputs.pooled_projections = input(*cases, "pooled_projections");
  inputs.timestep = input(*cases, "timestep");
  inputs.txt_ids = input(*cases, "txt_ids");
  if (cases->contains("guidance")) inputs.guidance = cases->tensor("guidance");

  FluxTransformer2DModel model = load_flux_transformer((*parsed)["transformer"].as<std::string>(), load);
  if (!model->config().guidance_embeds) inputs.guidance = at::Tensor();
  model->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor output = model->forward(inputs).to(at::kCPU, at::kFloat);

  const std::string out_name = tag + ".output";
  omni::save_safetensors((*parsed)["out"].as<std::string>(), {{out_name, output}},
                         {{"note", fmt::format("omnihost {} --tag {} --dtype {}", kName, tag,
                                               (*parsed)["dtype"].as<std::string>())}});
  std::cout << fmt::format("wrote {} {} to {}", out_name, output.sizes(),
                           (*parsed)["out"].as<std::string>());
  if (cases->contains(out_name)) {
    const at::Tensor reference = cases->tensor(out_name).to(at::kFloat);
    if (reference.sizes() == output.sizes()) {
      std::cout << fmt::format("; max |difference| from the file's {}: {:.3g}", out_name,
                               (output - reference).abs().max().item<double>());
    }
  }
  std::cout << "\n";
  return 0;
}

omni::CommandFactory debug_flux_forward_command() {
  return {kName, kSummary, run_debug_flux_forward};
}

}  // namespace flux_kontext
