#include "flux_kontext/commands/lora_command.hpp"

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "commands/debug_command_support.hpp"
#include "flux_kontext/lora/lora_files.hpp"
#include "flux_kontext/lora/lora_kohya.hpp"
#include "omni/error.hpp"

namespace flux_kontext {
namespace {

int run_lora_convert(const std::vector<std::string>& arguments) {
  cxxopts::Options options("omnihost lora convert",
                           "Rewrite a Flux LoRA file in diffusers (PEFT, transformer.<module>."
                           "lora_A/lora_B) or kohya/ComfyUI (lora_unet_<BFL module>.lora_down/"
                           "lora_up/alpha) layout; the input may be in either.");
  options.add_options()
      ("input", "input LoRA .safetensors file", cxxopts::value<std::string>())
      ("output", "output .safetensors file (written atomically)", cxxopts::value<std::string>())
      ("to", "output layout: kohya or diffusers", cxxopts::value<std::string>())
      ("h,help", "show this help");
  options.parse_positional({"input", "output"});
  options.positional_help("IN OUT");
  const auto parsed = omni::parse_command_options(options, arguments, {"input", "output", "to"});
  if (!parsed) return 0;

  const std::string to = (*parsed)["to"].as<std::string>();
  if (to != "kohya" && to != "diffusers") {
    throw omni::Error(fmt::format("omnihost lora convert: --to must be kohya or diffusers, got '{}'",
                                  to));
  }
  const std::filesystem::path input = (*parsed)["input"].as<std::string>();
  const std::filesystem::path output = (*parsed)["output"].as<std::string>();
  if (std::filesystem::exists(output) && std::filesystem::exists(input) &&
      std::filesystem::equivalent(input, output)) {
    throw omni::Error(fmt::format("omnihost lora convert: output '{}' is the input file",
                                  output.string()));
  }
  const LoraFileContents contents = read_lora_file(input);
  if (to == "kohya") {
    write_lora_kohya(output, contents.modules);
  } else {
    write_lora_diffusers(output, contents.modules);
  }
  std::cout << fmt::format("wrote {} LoRA modules from {} ({} layout) to {} ({} layout)\n",
                           contents.modules.size(), input.string(),
                           lora_layout_name(contents.layout), output.string(), to);
  return 0;
}

}  // namespace

omni::CommandFactory lora_convert_command() {
  return omni::CommandFactory{"lora convert",
                              "convert a Flux LoRA file between diffusers and kohya/ComfyUI "
                              "layouts",
                              run_lora_convert};
}

}  // namespace flux_kontext
