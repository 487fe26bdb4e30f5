#include "flux_kontext/trainer/kontext_components.hpp"

#include <algorithm>
#include <vector>

#include <ATen/Context.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <yaml-cpp/yaml.h>

#include "flux_kontext/lora/lora_files.hpp"
#include "omni/device.hpp"
#include "omni/error.hpp"
#include "omni/model_folder.hpp"

namespace flux_kontext {

KontextModelPaths resolve_model_paths(const ModelConfig& model) {
  KontextModelPaths paths;
  paths.pipeline = model.pretrained_model_name_or_path;
  paths.revision = model.revision.value_or("main");
  omni::ModelFolder folder = omni::ModelFolder::open(paths.pipeline, paths.revision);
  if (model.transformer_path) {
    paths.transformer = *model.transformer_path;
    if (!std::filesystem::exists(paths.transformer)) {
      throw omni::Error(fmt::format("model.transformer_path: '{}' does not exist (expected a "
                                    "transformer folder or a single .safetensors file)",
                                    paths.transformer.string()));
    }
  } else {
    paths.transformer = folder.component("transformer");
  }
  paths.scheduler = folder.component("scheduler");
  // model.pretrained_embeddings may name the encoders' weights apart from the pipeline
  // (the tokenizers stay the pipeline's).
  const auto encoder_folder = [&](const std::optional<std::string>& path, const char* key,
                                  const char* component) -> std::filesystem::path {
    if (!path) return folder.component(component);
    if (!std::filesystem::is_regular_file(std::filesystem::path(*path) / "config.json")) {
      throw omni::Error(fmt::format("model.pretrained_embeddings.{}: '{}' is not a text encoder "
                                    "folder (no config.json)",
                                    key, *path));
    }
    return *path;
  };
  paths.text_encoder = encoder_folder(model.text_encoder_path, "text_encoder", "text_encoder");
  paths.text_encoder_2 =
      encoder_folder(model.text_encoder_2_path, "text_encoder_2", "text_encoder_2");
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

omni::ConfigDocument text_encoder_options(const std::string& pipeline, const std::string& revision,
                                          const std::string& place, const std::string& device,
                                          const std::filesystem::path& weights) {
  YAML::Node options;
  options["model"] = pipeline;
  if (!revision.empty()) options["revision"] = revision;
  options["subfolder"] = place;
  if (!weights.empty()) options["weights_folder"] = weights.string();
  options["tokenizer_subfolder"] = place == "text_encoder_2" ? "tokenizer_2" : "tokenizer";
  options["device"] = device;
  return omni::ConfigDocument::from_string(YAML::Dump(options), "model.text_encoders." + place);
}

namespace {

std::unique_ptr<omni::TextEncoder> make_text_encoder(const std::string& name,
                                                     const omni::ConfigView& options,
                                                     const omni::ComponentProvider* components) {
  if (components) return components->make_text_encoder(name, options);
  if (name == "clip_text") return std::make_unique<ClipTextEncoder>(parse_text_encoder_options(options, false));
  if (name == "t5_encoder") return std::make_unique<T5TextEncoder>(parse_text_encoder_options(options, true));
  throw omni::Error(fmt::format("text encoder '{}': without the plugin registry only clip_text and "
                                "t5_encoder can be named",
                                name));
}

}  // namespace

KontextTextEncoders load_text_encoders(const KontextModelPaths& paths, const ModelConfig& model,
                                       c10::Device device, c10::Device device_2,
                                       const omni::ComponentProvider* components) {
  const omni::ConfigDocument options =
      text_encoder_options(paths.pipeline, paths.revision, "text_encoder", device.str(),
                           model.text_encoder_path ? paths.text_encoder : std::filesystem::path());
  const omni::ConfigDocument options_2 = text_encoder_options(
      paths.pipeline, paths.revision, "text_encoder_2", device_2.str(),
      model.text_encoder_2_path ? paths.text_encoder_2 : std::filesystem::path());
  KontextTextEncoders encoders;
  encoders.text_encoder = make_text_encoder(model.text_encoder, options.root(), components);
  encoders.text_encoder_2 = make_text_encoder(model.text_encoder_2, options_2.root(), components);
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
