#include "flux_kontext/kontext_components.hpp"

#include <algorithm>
#include <vector>

#include <ATen/Context.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "flux_kontext/lora_files.hpp"
#include "omni/device.hpp"
#include "omni/error.hpp"
#include "omni/model_folder.hpp"

namespace flux_kontext {

KontextModelPaths resolve_model_paths(const ModelConfig& model) {
  KontextModelPaths paths;
  paths.pipeline = model.pretrained_model_name_or_path;
  paths.revision = model.revision.value_or("main");
  omni::ModelFolder folder = omni::ModelFolder::open(paths.pipeline, paths.revision);
  paths.transformer = folder.component("transformer");
  paths.scheduler = folder.component("scheduler");
  paths.text_encoder = folder.component("text_encoder");
  paths.text_encoder_2 = folder.component("text_encoder_2");
  paths.tokenizer = folder.component("tokenizer");
  paths.tokenizer_2 = folder.component("tokenizer_2");
  if (model.vae_path) {
    paths.vae = *model.vae_path;
    if (!std::filesystem::is_regular_file(paths.vae / "config.json")) {
      throw omni::Error(fmt::format("model.vae_path: '{}' is not a VAE folder (no config.json)",
                                    paths.vae.string()));
    }
  } else {
    paths.vae = folder.component("vae");
  }
  return paths;
}

c10::Device component_device(const std::optional<std::string>& entry,
                             const std::optional<std::string>& fallback) {
  if (entry) return omni::parse_device(*entry);
  if (fallback) return omni::parse_device(*fallback);
  return at::hasCUDA() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
}

std::string folder_identity(const std::filesystem::path& folder) {
  std::error_code error;
  std::vector<std::string> entries;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    if (!entry.is_regular_file(error)) continue;
    const auto time = std::filesystem::last_write_time(entry.path(), error).time_since_epoch();
    entries.push_back(fmt::format("{}:{}:{}", entry.path().filename().string(),
                                  entry.file_size(error), time.count()));
  }
  std::sort(entries.begin(), entries.end());
  return fmt::format("{}[{}]", std::filesystem::weakly_canonical(folder, error).string(),
                     fmt::join(entries, ","));
}

AutoencoderKL load_vae(const KontextModelPaths& paths, c10::Device device) {
  VaeLoadOptions options;
  options.device = device;
  return load_autoencoder_kl(paths.vae, options);
}

KontextTextEncoders load_text_encoders(const KontextModelPaths& paths, c10::Device clip_device,
                                       c10::Device t5_device) {
  TextEncoderOptions clip_options;
  clip_options.model = paths.pipeline;
  clip_options.revision = paths.revision;
  clip_options.subfolder = "text_encoder";
  clip_options.tokenizer_subfolder = "tokenizer";
  clip_options.device = clip_device.str();
  TextEncoderOptions t5_options = clip_options;
  t5_options.subfolder = "text_encoder_2";
  t5_options.tokenizer_subfolder = "tokenizer_2";
  t5_options.device = t5_device.str();
  KontextTextEncoders encoders;
  encoders.clip = std::make_unique<ClipTextEncoder>(clip_options);
  encoders.t5 = std::make_unique<T5TextEncoder>(t5_options);
  return encoders;
}

void apply_base_loras(FluxTransformer2DModelImpl& model, const std::vector<BaseLora>& base_loras) {
  for (const BaseLora& base : base_loras) {
    const auto how = base.fuse ? LoraApplication::fused : LoraApplication::stacked;
    const auto modules = apply_lora_file(base.path, model, base.scale, how);
    fmt::print("base LoRA {} ({} modules, scale {}, {})\n", base.path, modules.size(), base.scale,
               base.fuse ? "fused" : "stacked");
  }
}

}  // namespace flux_kontext
