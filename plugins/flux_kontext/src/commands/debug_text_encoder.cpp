#include "flux_kontext/commands/debug_text_encoder.hpp"

#include <iostream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "commands/debug_command_support.hpp"
#include "flux_kontext/text/clip_text_model.hpp"
#include "flux_kontext/text/t5_encoder_model.hpp"
#include "omni/device.hpp"
#include "omni/error.hpp"
#include "omni/json_config.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {
namespace {

at::Tensor ids_tensor(const omni::SafetensorsFile& cases, const std::string& name) {
  if (!cases.contains(name)) {
    throw omni::Error(fmt::format("{}: no tensor '{}'", cases.path().string(), name));
  }
  return cases.tensor(name).to(at::kLong).contiguous();
}

int run_debug_text_encoder(const std::vector<std::string>& arguments) {
  cxxopts::Options options("omnihost debug text-encoder",
                           "Run a CLIP or T5 text encoder folder on `input_ids` (and "
                           "`attention_mask`) from a cases file.");
  options.add_options()
      ("model", "the component folder (config.json + weights)", cxxopts::value<std::string>())
      ("cases", "input safetensors file", cxxopts::value<std::string>())
      ("out", "output safetensors file", cxxopts::value<std::string>())
      ("device", "cpu, cuda or cuda:N", cxxopts::value<std::string>()->default_value("cpu"))
      ("h,help", "show this help");
  const auto parsed = omni::parse_command_options(options, arguments, {"model", "cases", "out"});
  if (!parsed) return 0;

  const std::filesystem::path folder = (*parsed)["model"].as<std::string>();
  const c10::Device device = omni::parse_device((*parsed)["device"].as<std::string>(), "--device");
  const auto cases = omni::SafetensorsFile::open((*parsed)["cases"].as<std::string>());
  const at::Tensor input_ids = ids_tensor(*cases, "input_ids");
  const omni::JsonConfig config = omni::JsonConfig::read(folder / "config.json");
  const std::string model_type = config.get<std::string>("model_type", "");

  torch::NoGradGuard no_grad;
  omni::NamedTensors outputs;
  if (model_type == "clip_text_model" || model_type == "clip") {
    ClipTextModel model = load_clip_text_model(folder, at::kFloat, device);
    ClipTextOutput output = model->forward(input_ids);
    outputs = {{"last_hidden_state", output.last_hidden_state.cpu()},
               {"pooler_output", output.pooler_output.cpu()}};
  } else if (model_type == "t5" || model_type == "t5_encoder") {
    T5EncoderModel model = load_t5_encoder_model(folder, at::kFloat, device);
    outputs = {{"last_hidden_state_no_mask", model->forward(input_ids).cpu()}};
    if (cases->contains("attention_mask")) {
      outputs.emplace_back("last_hidden_state_masked",
                           model->forward(input_ids, ids_tensor(*cases, "attention_mask")).cpu());
    }
  } else {
    config.fail("model_type", fmt::format("'{}' is neither a CLIP text model nor a T5 encoder",
                                          model_type));
  }
  const std::string out = (*parsed)["out"].as<std::string>();
  omni::save_safetensors(out, outputs, {{"note", "omnihost debug text-encoder"}});
  std::cout << fmt::format("wrote {} tensors to {}\n", outputs.size(), out);
  return 0;
}

}  // namespace

omni::CommandFactory debug_text_encoder_command() {
  return {"debug text-encoder", "CLIP / T5 encoder outputs for a cases file (compare with Python)",
          run_debug_text_encoder};
}

}  // namespace flux_kontext
