#include "trainer/kontext_predictor.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "flux_kontext/quickstart/embedded_inputs.hpp"
#include "flux_kontext/model/flux_packing.hpp"
#include "flux_kontext/sampling/flux_sampler.hpp"
#include "flux_kontext/lora/lora_files.hpp"
#include "flux_kontext/trainer/prompt_enhancement.hpp"
#include "flux_kontext/data/sample_preprocessing.hpp"
#include "omni/error.hpp"
#include "omni/image_io.hpp"
#include "flux_kontext/sampling/kontext_resolutions.hpp"
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
                                   omni::PromptEnhancer* enhancer, const DeviceMap& devices,
                                   bool text_encoders)
    : trainer_(trainer), config_(config), enhancer_(enhancer) {
  paths_ = resolve_model_paths(config.model);
  vae_device_ = component_device(devices.vae, devices.vae_encoder);
  vae_ = load_vae(paths_, vae_device_);
  if (text_encoders) {
    text_ = load_text_encoders(paths_, config.model, component_device(devices.text_encoder),
                               component_device(devices.text_encoder_2), trainer.components_);
  }
}

KontextPredictor::KontextPredictor(const FluxKontextTrainer& trainer, const TrainerConfig& config,
                                   omni::PromptEnhancer* enhancer)
    : KontextPredictor(trainer, config, enhancer, config.predict.devices, true) {
  const DeviceMap& devices = config.predict.devices;
  FluxTransformerLoadOptions options;
  options.device = component_device(devices.dit);
  // bf16 on GPUs; fp32 on the CPU, where bf16 matmuls are slow.
  options.dtype = options.device.is_cuda() ? at::kBFloat16 : at::kFloat;
  transformer_ = load_flux_transformer(paths_.transformer, options);
  apply_base_loras(*transformer_, config.model.base_loras);
  if (auto lora = predict_lora_file(config)) {
    load_lora_file(*lora, *transformer_, config.predict.lora_scale);
    fmt::print("predict: LoRA {} (scale {})\n", lora->string(), config.predict.lora_scale);
  } else {
    fmt::print("predict: no LoRA (none configured and no finished run under '{}')\n",
               config.logging.output_dir);
  }
  transformer_->eval();
}

std::int64_t KontextPredictor::pixels_per_token() const { return 2 * vae_->config().spatial_scale(); }

omni::Image KontextPredictor::generate(const PredictSample& sample) {
  const PredictConfig& predict = config_.predict;
  KontextSamplingSettings settings;
  settings.steps = predict.num_inference_steps;
  settings.guidance_scale = predict.guidance_scale;
  settings.true_cfg_scale = predict.true_cfg_scale;
  settings.seed = predict.seed;
  return render(*transformer_, encode(sample, predict.true_cfg_scale > 1), settings);
}

KontextRequest KontextPredictor::encode(const PredictSample& sample, bool with_negative) {
  torch::NoGradGuard no_grad;
  if (!text_.text_encoder || !text_.text_encoder_2) {
    throw omni::Error("predict: the text encoders were released before every prompt was encoded");
  }
  std::vector<omni::ImageSize> sources;
  for (const std::string& file : sample.images) sources.push_back(omni::read_image_size(file));
  // The output size: as asked, else the first control's snapped to a preferred Kontext size.
  omni::ImageSize size = preferred_kontext_size(sources[0].height, sources[0].width);
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
    const std::vector<std::filesystem::path> images(sample.images.begin(), sample.images.end());
    prompt = enhance_prompt(*enhancer_, sample.prompt, images, config_.model.prompt_enhancer_suffix,
                            "predict")
                 .rewritten;
    fmt::print("predict: enhanced prompt: {}\n", prompt);
  }
  auto embed = [&](const std::string& text) {
    KontextPromptEmbeddings embeds = encode_kontext_prompts(*text_.text_encoder, *text_.text_encoder_2,
                                                            {text});
    return FluxPromptEmbeds{embeds.prompt_embeds, embeds.pooled_prompt_embeds, embeds.text_ids};
  };
  KontextRequest request;
  request.size = size;
  request.control_tokens = at::cat(control_tokens, 1);
  request.grids = grids;
  request.prompt = embed(prompt);
  if (with_negative && sample.negative_prompt) request.negative_prompt = embed(*sample.negative_prompt);
  return request;
}

omni::Image KontextPredictor::render(FluxTransformer2DModelImpl& transformer,
                                     const KontextRequest& request,
                                     const KontextSamplingSettings& settings) {
  torch::NoGradGuard no_grad;
  const c10::Device device = transformer.device();
  auto on_device = [&](const FluxPromptEmbeds& embeds) {
    return FluxPromptEmbeds{embeds.encoder_hidden_states.to(device),
                            embeds.pooled_projections.to(device),
                            embeds.txt_ids.defined() ? embeds.txt_ids.to(device) : at::Tensor()};
  };
  const std::int64_t patch = pixels_per_token();
  const PackedGrid target{request.size.height / patch, request.size.width / patch};
  FluxSamplingInputs inputs;
  // The noise comes from its own CPU generator: the same seed gives the same image on any
  // device, and drawing it leaves the global generator (training's) untouched.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(settings.seed));
  inputs.initial_noise = at::randn({1, target.rows * target.cols, transformer.config().in_channels},
                                   generator, at::kFloat)
                             .to(device);
  inputs.control_tokens = request.control_tokens.to(device);
  inputs.img_ids = trainer_.image_ids(target, request.grids).to(device);
  inputs.prompt = on_device(request.prompt);
  if (request.negative_prompt) inputs.negative_prompt = on_device(*request.negative_prompt);
  FluxSamplingOptions options;
  options.steps = settings.steps;
  options.guidance_scale = settings.guidance_scale;
  options.true_cfg_scale = settings.true_cfg_scale;
  FlowMatchEulerDiscreteScheduler scheduler(FlowMatchSchedulerConfig::load(paths_.scheduler));
  at::Tensor latents = sample_flux(transformer, scheduler, inputs, options);
  at::Tensor image = decode_packed_latents(*vae_, latents.to(vae_device_), request.size.height,
                                           request.size.width);
  return omni::tensor_to_image(image[0].to(at::kCPU, at::kFloat));
}

namespace {

// `omnihost predict`'s request in this trainer's predict settings: one sample, written to
// exactly the requested file; what the request leaves unset keeps the config's value.
// The request is checked with the rules the predict section's schema applies.
TrainerConfig with_predict_request(TrainerConfig config, const omni::PredictRequest& request) {
  if (request.images.empty()) throw omni::Error("predict: the request names no image to edit");
  for (const auto& [name, value] : {std::pair{"width", request.width}, {"height", request.height}}) {
    if (value && (*value <= 0 || *value % 16 != 0)) {
      throw omni::Error(fmt::format("predict: --{} {} is not a positive multiple of 16", name, *value));
    }
  }
  if (request.steps && *request.steps <= 0) throw omni::Error("predict: --steps must be positive");
  if (request.true_cfg_scale && *request.true_cfg_scale <= 0) {
    throw omni::Error("predict: --true-cfg must be positive");
  }
  PredictSample sample;
  sample.prompt = request.prompt;
  for (const std::filesystem::path& image : request.images) sample.images.push_back(image.string());
  sample.negative_prompt = request.negative_prompt;
  sample.width = request.width;
  sample.height = request.height;
  sample.output = request.output.filename().string();
  PredictConfig& predict = config.predict;
  predict.samples = {sample};
  predict.output_dir = request.output.parent_path().string();
  if (request.steps) predict.num_inference_steps = *request.steps;
  if (request.guidance_scale) predict.guidance_scale = *request.guidance_scale;
  if (request.true_cfg_scale) predict.true_cfg_scale = *request.true_cfg_scale;
  if (request.seed) predict.seed = *request.seed;
  if (request.lora) predict.lora_path = request.lora->string();
  if (request.lora_scale) predict.lora_scale = *request.lora_scale;
  return config;
}

}  // namespace

void FluxKontextTrainer::predict(const omni::StageContext& context) {
  components_ = context.components;
  const TrainerConfig config =
      context.predict_request ? with_predict_request(config_, *context.predict_request) : config_;
  const PredictConfig& predict = config.predict;
  if (predict.samples.empty()) {
    throw omni::Error(fmt::format("{}: predict has nothing to do: predict.samples is empty (or use "
                                  "`omnihost predict CONFIG --image ... --prompt ...`)",
                                  name()));
  }
  const std::filesystem::path output_dir =
      predict.output_dir ? std::filesystem::path(*predict.output_dir)
                         : std::filesystem::path(config.logging.output_dir) / "predictions";
  remove_interrupted_writes_of(config);
  make_missing_inputs(config);
  std::unique_ptr<omni::PromptEnhancer> enhancer =
      make_prompt_enhancer(context, predict.devices.prompt_enhancer);
  KontextPredictor predictor(*this, config, enhancer.get());
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
