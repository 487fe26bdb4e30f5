// `omnihost predict CONFIG --image a.png --prompt "..." --out out.png`: one edit without
// writing a predict list into the config. The request becomes config overrides (predict.*),
// so the trainer's ordinary predict stage does the work with every config check intact.
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "host_config.hpp"
#include "stage_runner.hpp"

namespace omni::host {
namespace {

// A YAML double-quoted scalar holding exactly `text`, whatever it contains (quotes, colons,
// `null`, newlines): the override parser reads it back as the same string.
std::string yaml_string(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      quoted += fmt::format("\\x{:02x}", byte);
    } else {
      quoted += c;  // UTF-8 passes through
    }
  }
  return quoted + "\"";
}

}  // namespace

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
      ("width", "output width (default: the first image's, snapped to a Kontext size)",
       cxxopts::value<int>())
      ("height", "output height (default: the first image's, snapped to a Kontext size)",
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

  std::vector<std::string> fields{"prompt: " + yaml_string(parsed["prompt"].as<std::string>())};
  std::vector<std::string> images;
  for (const std::string& image : parsed["image"].as<std::vector<std::string>>()) {
    images.push_back(yaml_string(std::filesystem::absolute(image).string()));
  }
  fields.push_back(fmt::format("images: [{}]", fmt::join(images, ", ")));
  if (parsed.count("negative-prompt")) {
    fields.push_back("negative_prompt: " + yaml_string(parsed["negative-prompt"].as<std::string>()));
  }
  if (parsed.count("width")) fields.push_back(fmt::format("width: {}", parsed["width"].as<int>()));
  if (parsed.count("height")) fields.push_back(fmt::format("height: {}", parsed["height"].as<int>()));
  fields.push_back("output: " + yaml_string(out.filename().string()));

  JobRequest request = command->request;
  // After the user's --set, so the command line's request wins.
  auto set = [&](const std::string& key, const std::string& yaml) {
    request.overrides.push_back(key + "=" + yaml);
  };
  set("predict.samples", fmt::format("[{{{}}}]", fmt::join(fields, ", ")));
  set("predict.output_dir", yaml_string(out.parent_path().string()));
  if (parsed.count("steps")) set("predict.num_inference_steps", std::to_string(parsed["steps"].as<int>()));
  if (parsed.count("guidance")) set("predict.guidance_scale", fmt::format("{}", parsed["guidance"].as<double>()));
  if (parsed.count("true-cfg")) set("predict.true_cfg_scale", fmt::format("{}", parsed["true-cfg"].as<double>()));
  if (parsed.count("seed")) set("predict.seed", std::to_string(parsed["seed"].as<long>()));
  if (parsed.count("lora")) {
    set("predict.lora_path", yaml_string(std::filesystem::absolute(parsed["lora"].as<std::string>()).string()));
  }
  if (parsed.count("lora-scale")) set("predict.lora_scale", fmt::format("{}", parsed["lora-scale"].as<double>()));
  Registry registry;
  PreparedJob job = prepare_job(request, registry);
  const int threads = parsed.count("threads") ? parsed["threads"].as<int>() : job.threads;
  return run_stages(job, registry, {Stage::predict}, threads, std::nullopt);
}

}  // namespace omni::host
