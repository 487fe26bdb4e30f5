#include "trainer/kontext_cache_plan.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/grad_mode.h>

#include "flux_kontext/sampling/flux_sampler.hpp"
#include "flux_kontext/trainer/kontext_components.hpp"
#include "flux_kontext/trainer/prompt_enhancement.hpp"
#include "omni/error.hpp"
#include "omni/image_io.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {
namespace {

nlohmann::json size_json(const omni::ImageSize& size) { return {size.height, size.width}; }

// The text encoders' files and names: another plugin's encoder under either name computes
// other embeddings from the same files.
std::string text_side_identity(const KontextModelPaths& paths, const ModelConfig& model) {
  return fmt::format("{}|{}|{}|{}|{}+{}", folder_identity(paths.text_encoder),
                     folder_identity(paths.text_encoder_2), folder_identity(paths.tokenizer),
                     folder_identity(paths.tokenizer_2), model.text_encoder, model.text_encoder_2);
}

PackedGrid grid_for(const omni::ImageSize& size, std::int64_t vae_scale) {
  return {size.height / (2 * vae_scale), size.width / (2 * vae_scale)};
}

}  // namespace

CachePlan plan_cache(const TrainerConfig& config, const DataConfig& data,
                     const KontextModelPaths& paths, const CacheKeyContext& context) {
  DatasetIndexOptions options;
  options.selected_control_indexes = data.selected_control_indexes;
  options.allow_paths_outside = data.allow_paths_outside_dataset;
  std::vector<DatasetSample> samples = index_dataset(data.dataset_path, options);

  const std::string vae_identity = folder_identity(paths.vae);
  const std::string text_identity = text_side_identity(paths, config.model);
  const std::filesystem::path cache_dir = config.cache.cache_dir;
  // What the enhancer is asked depends on the suffix too.
  const std::string enhancer =
      context.enhancer_identity.empty()
          ? std::string()
          : context.enhancer_identity + "|suffix=" + config.model.prompt_enhancer_suffix;
  CachePlan plan;
  for (DatasetSample& sample : samples) {
    std::vector<omni::ImageSize> control_sizes;
    for (const auto& control : sample.controls) control_sizes.push_back(omni::read_image_size(control));
    PlannedSample planned;
    planned.sizes = plan_sample_sizes(data.processor, sample.id,
                                      omni::read_image_size(sample.target), control_sizes);
    nlohmann::json key = {
        {"format", 1},
        {"position_ids", context.position_id_scheme},
        {"vae", vae_identity},
        {"text", text_identity},
        {"enhancer", enhancer},
        {"prompt", sample.prompt},
        {"target", file_fingerprint(sample.target)},
        {"target_size", size_json(planned.sizes.target)},
        {"process_type", data.processor.process_type},
        {"resize_mode", data.processor.resize_mode},
        {"controls", nlohmann::json::array()},
        {"mask", sample.mask ? file_fingerprint(*sample.mask) : std::string()},
    };
    for (std::size_t i = 0; i < sample.controls.size(); ++i) {
      key["controls"].push_back({{"file", file_fingerprint(sample.controls[i])},
                                 {"size", size_json(planned.sizes.controls[i])}});
    }
    planned.key = key.dump();
    planned.file = cache_file_for(cache_dir, planned.key);
    planned.source = std::move(sample);
    plan.samples.push_back(std::move(planned));
  }
  plan.empty_prompt_key = nlohmann::json{{"format", 1}, {"text", text_identity}, {"prompt", ""}}.dump();
  plan.empty_prompt_file = cache_file_for(cache_dir, plan.empty_prompt_key);
  return plan;
}

bool cache_entry_valid(const std::filesystem::path& file, const std::string& key) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) return false;
  auto source = omni::SafetensorsFile::open(file);
  auto stored = source->metadata().find("omnihost.cache_key");
  return stored != source->metadata().end() && stored->second == key;
}

CacheDevices CacheDevices::from(const DeviceMap& devices) {
  CacheDevices result;
  result.vae = component_device(devices.vae, devices.vae_encoder);
  result.clip = component_device(devices.text_encoder);
  result.t5 = component_device(devices.text_encoder_2);
  return result;
}

EncodingSetup::EncodingSetup(const TrainerConfig& trainer_config, std::string_view purpose)
    : config(trainer_config) {
  if (config.cache.use_cache) return;
  private_folder.emplace(fmt::format("omnihost-{}", purpose));
  config.cache.cache_dir = private_folder->path().string();
  const DeviceMap& fit = config.train.fit_device;
  DeviceMap& devices = config.cache.devices;
  if (fit.vae) devices.vae = fit.vae;
  if (fit.vae_encoder) devices.vae_encoder = fit.vae_encoder;
  if (fit.text_encoder) devices.text_encoder = fit.text_encoder;
  if (fit.text_encoder_2) devices.text_encoder_2 = fit.text_encoder_2;
  if (fit.prompt_enhancer) devices.prompt_enhancer = fit.prompt_enhancer;
}

std::size_t fill_cache(const TrainerConfig& config, const CachePlan& plan,
                       const KontextModelPaths& paths, const CacheDevices& devices,
                       omni::PromptEnhancer* enhancer, const std::atomic<bool>* stop,
                       const omni::ComponentProvider* components) {
  std::vector<const PlannedSample*> missing;
  for (const PlannedSample& sample : plan.samples) {
    if (!cache_entry_valid(sample.file, sample.key)) missing.push_back(&sample);
  }
  const bool empty_missing = !cache_entry_valid(plan.empty_prompt_file, plan.empty_prompt_key);
  if (missing.empty() && !empty_missing) {
    fmt::print("cache: all {} samples are cached in {}\n", plan.samples.size(),
               config.cache.cache_dir);
    return 0;
  }
  fmt::print("cache: {} of {} samples to compute into {}\n", missing.size(), plan.samples.size(),
             config.cache.cache_dir);
  torch::NoGradGuard no_grad;
  AutoencoderKL vae = load_vae(paths, devices.vae);
  const std::int64_t vae_scale = vae->config().spatial_scale();
  KontextTextEncoders text =
      load_text_encoders(paths, config.model, devices.clip, devices.t5, components);
  auto encode_prompt = [&](const std::string& prompt, CachedSample& out) {
    KontextPromptEmbeddings embeds =
        encode_kontext_prompts(*text.text_encoder, *text.text_encoder_2, {prompt});
    out.prompt_embeds = embeds.prompt_embeds[0].to(at::kCPU, at::kFloat).contiguous();
    out.pooled_prompt_embeds = embeds.pooled_prompt_embeds[0].to(at::kCPU, at::kFloat).contiguous();
  };
  if (empty_missing) {
    CachedSample empty;
    encode_prompt("", empty);
    save_cached_sample(plan.empty_prompt_file, plan.empty_prompt_key, empty);
  }
  std::size_t written = 0;
  for (const PlannedSample* planned : missing) {
    if (stop && stop->load()) {
      fmt::print("cache: stopped after {} samples; run again to finish\n", written);
      break;
    }
    const DatasetSample& sample = planned->source;
    const ProcessorConfig& processor = config.data.processor;
    CachedSample entry;
    auto encode_image = [&](const std::filesystem::path& file, const omni::ImageSize& size) {
      at::Tensor image = load_processed_image(file, size, processor).unsqueeze(0);
      return encode_packed_latents(*vae, image.to(devices.vae))[0].to(at::kCPU, at::kFloat).contiguous();
    };
    entry.target_latents = encode_image(sample.target, planned->sizes.target);
    entry.target_grid = grid_for(planned->sizes.target, vae_scale);
    for (std::size_t i = 0; i < sample.controls.size(); ++i) {
      entry.control_latents.push_back(encode_image(sample.controls[i], planned->sizes.controls[i]));
      entry.control_grids.push_back(grid_for(planned->sizes.controls[i], vae_scale));
    }
    entry.prompt = sample.prompt;
    if (enhancer) {
      // Every reference image, the edited one first.
      entry.enhanced_prompt = enhance_prompt(*enhancer, sample.prompt, sample.controls,
                                             config.model.prompt_enhancer_suffix,
                                             "sample '" + sample.id + "'")
                                  .rewritten;
    }
    encode_prompt(entry.enhanced_prompt.empty() ? entry.prompt : entry.enhanced_prompt, entry);
    if (sample.mask) {
      at::Tensor mask = load_processed_mask(*sample.mask, planned->sizes.target, processor);
      at::Tensor pooled = at::avg_pool2d(mask.unsqueeze(0), {2 * vae_scale, 2 * vae_scale});
      entry.mask = pooled.flatten().contiguous();
    }
    save_cached_sample(planned->file, planned->key, entry);
    ++written;
    fmt::print("cache: {}/{} {}\n", written, missing.size(), sample.id);
  }
  return written;
}

}  // namespace flux_kontext
