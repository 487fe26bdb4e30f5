// `omnihost predict CONFIG --image a.png --prompt "..." --out out.png`: one edit without
// writing a predict list into the config. The command line becomes an omni::PredictRequest,
// which the trainer's predict stage maps onto its own settings: the host knows no model's keys.
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "host_config.hpp"
#include "stage_runner.hpp"

namespace omni::host {

int predict_command(const std::vector<std::string>& arguments) {
  cxxopts::Options options("omnihost predict",
                           "Edit one image set with the config's model (and LoRA) and write a "
                           "PNG: the config's predict stage for a single request.");
  options.add_options()
      ("image", "a control image, PNG or JPEG (repeat for more references; the first sets "
       "the default output size)", cxxopts::value<std::vector<std::string>>())
      ("prompt", "the edit instruction", cxxopts::value<std::string>())
      ("out", "the PNG to write (written atomically)", cxxopts::value<std::string>())
      ("negative-prompt", "negative prompt, used with --true-cfg > 1",
       cxxopts::value<std::string>())
      ("steps", "sampling steps (default: predict.num_inference_steps)", cxxopts::value<int>())
      ("guidance", "distilled guidance scale (default: predict.guidance_scale)",
       cxxopts::value<double>())
      ("true-cfg", "true classifier-free guidance scale (default: predict.true_cfg_scale)",
       cxxopts::value<double>())
      ("seed", "noise seed (default: predict.seed)", cxxopts::value<long>())
      ("lora", "LoRA file, diffusers or kohya layout (default: predict.lora_path, else the "
       "newest finished run's)", cxxopts::value<std::string>())
      ("lora-scale", "LoRA strength (default: predict.lora_scale)", cxxopts::value<double>())
      ("width", "output width (default: the trainer's choice from the first image)",
       cxxopts::value<int>())
      ("height", "output height (default: the trainer's choice from the first image)",
       cxxopts::value<int>());
  add_config_command_options(options, /*with_threads=*/true);
  std::optional<ConfigCommand> command =
      parse_config_command(options, arguments, "predict");
  if (!command) return 0;
  const cxxopts::ParseResult& parsed = command->parsed;
  if (!parsed.count("image")) {
    throw UsageError("predict: missing --image (the image to edit; repeat for more references)");
  }
  if (!parsed.count("prompt")) throw UsageError("predict: missing --prompt (the edit instruction)");
  if (!parsed.count("out")) throw UsageError("predict: missing --out (the PNG file to write)");
  const std::filesystem::path out = std::filesystem::absolute(parsed["out"].as<std::string>());
  if (out.filename().empty() || std::filesystem::is_directory(out)) {
    throw UsageError(fmt::format("predict: --out '{}' must name a file, not a folder",
                                 parsed["out"].as<std::string>()));
  }
  for (const char* size : {"width", "height"}) {
    if (parsed.count(size) && parsed[size].as<int>() <= 0) {
      throw UsageError(fmt::format("predict: --{} must be positive", size));
    }
  }

  PredictRequest request;
  for (const std::string& image : parsed["image"].as<std::vector<std::string>>()) {
    request.images.push_back(std::filesystem::absolute(image));
  }
  request.prompt = parsed["prompt"].as<std::string>();
  if (parsed.count("negative-prompt")) request.negative_prompt = parsed["negative-prompt"].as<std::string>();
  if (parsed.count("width")) request.width = parsed["width"].as<int>();
  if (parsed.count("height")) request.height = parsed["height"].as<int>();
  if (parsed.count("steps")) request.steps = parsed["steps"].as<int>();
  if (parsed.count("guidance")) request.guidance_scale = parsed["guidance"].as<double>();
  if (parsed.count("true-cfg")) request.true_cfg_scale = parsed["true-cfg"].as<double>();
  if (parsed.count("seed")) request.seed = parsed["seed"].as<long>();
  if (parsed.count("lora")) request.lora = std::filesystem::absolute(parsed["lora"].as<std::string>());
  if (parsed.count("lora-scale")) request.lora_scale = parsed["lora-scale"].as<double>();
  request.output = out;

  Registry registry;
  PreparedJob job = prepare_job(command->request, registry);
  const int threads = parsed.count("threads") ? parsed["threads"].as<int>() : job.threads;
  return run_stages(job, registry, {Stage::predict}, threads, std::nullopt, &request);
}

}  // namespace omni::host
