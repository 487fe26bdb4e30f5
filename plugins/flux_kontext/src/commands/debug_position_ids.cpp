#include "flux_kontext/commands/debug_position_ids.hpp"

#include <iostream>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "commands/debug_command_support.hpp"
#include "flux_kontext/trainer/flux_kontext_trainer.hpp"
#include "omni/config.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {
namespace {

// A packed token covers 2 x 2 latent pixels of the 8x-downsampling VAE.
constexpr std::int64_t kPixelsPerToken = 16;

PackedGrid parse_size(const std::string& text, const std::string& option) {
  long height = 0, width = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%ldx%ld%c", &height, &width, &tail) != 2 || height <= 0 ||
      width <= 0) {
    throw omni::Error(fmt::format("debug position-ids: {} '{}': expected HxW in pixels, e.g. 512x768",
                                  option, text));
  }
  if (height % kPixelsPerToken != 0 || width % kPixelsPerToken != 0) {
    throw omni::Error(fmt::format("debug position-ids: {} '{}': height and width must be multiples "
                                  "of {} pixels (one packed token)",
                                  option, text, kPixelsPerToken));
  }
  return {height / kPixelsPerToken, width / kPixelsPerToken};
}

// The trainer by its registered name, as `run` would build it (the config's model is never
// loaded: position ids need none).
std::unique_ptr<omni::Trainer> make_named_trainer(const std::string& name,
                                                  const omni::ComponentProvider& components) {
  const omni::ConfigDocument document = omni::ConfigDocument::from_string(
      "model: {pretrained_model_name_or_path: unused}\n", "debug position-ids");
  return components.make_trainer(name, document.root());
}

int run_debug_position_ids(const std::vector<std::string>& arguments,
                           const omni::ComponentProvider& components) {
  cxxopts::Options options("omnihost debug position-ids",
                           "Write the image-token position ids a trainer builds for a target "
                           "and its control images (target first).");
  options.add_options()
      ("trainer", "trainer name: FluxKontext, DreamOmni2, ...", cxxopts::value<std::string>())
      ("target", "target size HxW in pixels", cxxopts::value<std::string>())
      ("control", "a control (reference) image size HxW in pixels; repeat in order",
       cxxopts::value<std::vector<std::string>>())
      ("out", "output safetensors file (tensor `img_ids`)", cxxopts::value<std::string>())
      ("h,help", "show this help");
  const auto parsed =
      omni::parse_command_options(options, arguments, {"trainer", "target", "control", "out"});
  if (!parsed) return 0;

  const PackedGrid target = parse_size((*parsed)["target"].as<std::string>(), "--target");
  std::vector<PackedGrid> controls;
  for (const std::string& text : (*parsed)["control"].as<std::vector<std::string>>()) {
    controls.push_back(parse_size(text, "--control"));
  }
  const std::string name = (*parsed)["trainer"].as<std::string>();
  const std::unique_ptr<omni::Trainer> made = make_named_trainer(name, components);
  const auto* trainer = dynamic_cast<const FluxKontextTrainer*>(made.get());
  if (trainer == nullptr) {
    throw omni::Error(fmt::format("debug position-ids: trainer '{}' is not of the FluxKontext "
                                  "family (its position ids are not FluxKontextTrainer's)",
                                  name));
  }
  const at::Tensor ids = trainer->image_ids(target, controls).to(at::kFloat).contiguous();
  const std::string out = (*parsed)["out"].as<std::string>();
  omni::save_safetensors(out, {{"img_ids", ids}},
                         {{"trainer", name}, {"position_id_scheme", trainer->position_id_scheme()}});
  std::cout << fmt::format("wrote img_ids [{}, 3] ({} scheme: target {}x{} tokens, {} controls) to {}\n",
                           ids.size(0), trainer->position_id_scheme(), target.rows, target.cols,
                           controls.size(), out);
  return 0;
}

}  // namespace

omni::CommandFactory debug_position_ids_command() {
  omni::CommandFactory command;
  command.name = "debug position-ids";
  command.summary = "write the image position ids a trainer builds for given sizes";
  command.run_with_components = run_debug_position_ids;
  return command;
}

}  // namespace flux_kontext
