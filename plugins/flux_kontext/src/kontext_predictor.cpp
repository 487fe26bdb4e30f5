#include "kontext_predictor.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "flux_kontext/flux_packing.hpp"
#include "flux_kontext/flux_sampler.hpp"
#include "flux_kontext/lora_files.hpp"
#include "flux_kontext/sample_preprocessing.hpp"
#include "omni/error.hpp"
#include "omni/image_io.hpp"
#include "omni/image_sizes.hpp"
#include "omni/image_tensor.hpp"
#include "omni/image_transforms.hpp"

namespace flux_kontext {

std::optional<std::filesystem::path> predict_lora_file(const TrainerConfig& config) {
  if (config.predict.lora_path) return std::filesystem::path(*config.predict.lora_path);
  std::optional<std::filesystem::path> newest;
  std::filesystem::file_time_type newest_time{};
  std::error_code error;
  for (const auto& run : std::filesystem::directory_iterator(config.logging.output_dir, error)) {
    const auto file = run.path() / "pytorch_lora_weights.safetensors";
    if (!std::filesystem::is_regular_file(file, error)) continue;
    const auto time = std::filesystem::last_write_time(file, error);
    if (!newest || time > newest_time) {
      newest = file;
      newest_time = time;
    }
  }
  return newest;
}

KontextPredictor::KontextPredictor(const FluxKontextTrainer& trainer, const TrainerConfig& config,
                                   omni::PromptEnhancer* enhancer)
    : trainer_(trainer), config_(config), enhancer_(enhancer) {
  paths_ = resolve_model_paths(config.model);
  const DeviceMap& devices = config.predict.devices;
  FluxTransformerLoadOptions options;
  options.device = component_device(devices.dit);
  // bf16 on GPUs; fp32 on the CPU, where bf16 matmuls are slow.
  options.dtype = options.device.is_cuda() ? at::kBFloat16 : at::kFloat;
  transformer_ = load_flux_transformer(paths_.transformer, options);
  if (auto lora = predict_lora_file(config)) {
    load_lora_file(*lora, *transformer_, config.predict.lora_scale);
    fmt::print("predict: LoRA {} (scale {})\n", lora->string(), config.predict.lora_scale);
  } else {
    fmt::print("predict: no LoRA (none configured and no finished run under '{}')\n",
               config.logging.output_dir);
  }
  transformer_->eval();
  vae_device_ = component_device(devices.vae, devices.vae_encoder);
  vae_ = load_vae(paths_, vae_device_);
  text_ = load_text_encoders(paths_, component_device(devices.text_encoder),
                             component_device(devices.text_encoder_2));
}

omni::Image KontextPredictor::generate(const PredictSample& sample) {
  torch::NoGradGuard no_grad;
  const PredictConfig& predict = config_.predict;
  std::vector<omni::ImageSize> sources;
  for (const std::string& file : sample.images) sources.push_back(omni::read_image_size(file));
  // The output size: as asked, else the first control's snapped to a preferred Kontext size.
  omni::ImageSize size = omni::preferred_kontext_size(sources[0].height, sources[0].width);
  if (sample.height) size.height = *sample.height;
  if (sample.width) size.width = *sample.width;
  const std::int64_t vae_scale = vae_->config().spatial_scale();
  const std::int64_t patch = 2 * vae_scale;
  if (size.height % patch != 0 || size.width % patch != 0) {
    throw omni::Error(fmt::format("predict: output size {}x{} is not a multiple of {}",
                                  size.width, size.height, patch));
  }

  std::vector<at::Tensor> control_tokens;
  std::vector<PackedGrid> grids;
  for (std::size_t i = 0; i < sample.images.size(); ++i) {
    // The first control takes the output size, as the Kontext pipeline resizes its image;
    // further references keep their aspect ratio at the same pixel count.
    omni::ImageSize control_size =
        i == 0 ? size
               : omni::size_for_pixel_budget(sources[i].height, sources[i].width,
                                             static_cast<long long>(size.height) * size.width, kPixelMultiple);
    at::Tensor image = omni::resize(omni::image_to_tensor(omni::read_image(sample.images[i])),
                                    control_size.height, control_size.width, "bilinear");
    control_tokens.push_back(encode_packed_latents(*vae_, image.unsqueeze(0).to(vae_device_)));
    grids.push_back({control_size.height / patch, control_size.width / patch});
  }
  std::string prompt = sample.prompt;
  if (enhancer_) {
    omni::EnhanceRequest request;
    request.instruction = sample.prompt;
    for (const std::string& file : sample.images) {
      request.image_paths.emplace_back(file);
      request.images.push_back(omni::read_image(file));
    }
    prompt = enhancer_->enhance(request);
    fmt::print("predict: enhanced prompt: {}\n", prompt);
  }
  const c10::Device device = transformer_->device();
  auto embed = [&](const std::string& text) {
    KontextPromptEmbeddings embeds = encode_kontext_prompts(*text_.clip, *text_.t5, {text});
    return FluxPromptEmbeds{embeds.prompt_embeds.to(device), embeds.pooled_prompt_embeds.to(device),
                            embeds.text_ids.to(device)};
  };
  const PackedGrid target{size.height / patch, size.width / patch};
  FluxSamplingInputs inputs;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(predict.seed));
  inputs.initial_noise = at::randn({1, target.rows * target.cols, transformer_->config().in_channels},
                                   generator, at::kFloat)
                             .to(device);
  inputs.control_tokens = at::cat(control_tokens, 1).to(device);
  inputs.img_ids = trainer_.image_ids(target, grids).to(device);
  inputs.prompt = embed(prompt);
  if (predict.true_cfg_scale > 1 && sample.negative_prompt) {
    inputs.negative_prompt = embed(*sample.negative_prompt);
  }
  FluxSamplingOptions options;
  options.steps = predict.num_inference_steps;
  options.guidance_scale = predict.guidance_scale;
  options.true_cfg_scale = predict.true_cfg_scale;
  FlowMatchEulerDiscreteScheduler scheduler(FlowMatchSchedulerConfig::load(paths_.scheduler));
  at::Tensor latents = sample_flux(*transformer_, scheduler, inputs, options);
  at::Tensor image = decode_packed_latents(*vae_, latents.to(vae_device_), size.height, size.width);
  return omni::tensor_to_image(image[0].to(at::kCPU, at::kFloat));
}

void FluxKontextTrainer::predict(const omni::StageContext& context) {
  const PredictConfig& predict = config_.predict;
  if (predict.samples.empty()) {
    throw omni::Error(fmt::format("{}: predict has nothing to do: predict.samples is empty (or use "
                                  "`omnihost predict CONFIG --image ... --prompt ...`)",
                                  name()));
  }
  const std::filesystem::path output_dir =
      predict.output_dir ? std::filesystem::path(*predict.output_dir)
                         : std::filesystem::path(config_.logging.output_dir) / "predictions";
  std::unique_ptr<omni::PromptEnhancer> enhancer = make_prompt_enhancer(context);
  KontextPredictor predictor(*this, config_, enhancer.get());
  std::filesystem::create_directories(output_dir);
  for (std::size_t i = 0; i < predict.samples.size(); ++i) {
    if (context.stop_requested && context.stop_requested->load()) break;
    const PredictSample& sample = predict.samples[i];
    const std::filesystem::path output =
        output_dir / sample.output.value_or(fmt::format("prediction-{:03}.png", i));
    omni::write_png(output, predictor.generate(sample));
    fmt::print("predict: wrote {}\n", output.string());
  }
}

}  // namespace flux_kontext
