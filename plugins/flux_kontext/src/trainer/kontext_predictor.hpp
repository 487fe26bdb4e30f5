#pragma once
// Image generation with the trained LoRA: loads the pipeline once (on predict.devices) and
// turns (control images, prompt) into a PNG-ready image with the Kontext sampling loop.
// Encoding and sampling are separate steps, so validation during fit can encode its set once
// and sample it with the model being trained.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "flux_kontext/trainer/flux_kontext_trainer.hpp"
#include "flux_kontext/sampling/flux_sampler.hpp"
#include "flux_kontext/trainer/kontext_components.hpp"
#include "flux_kontext/model/position_ids.hpp"
#include "omni/image.hpp"

namespace flux_kontext {

// The LoRA predict uses: predict.lora_path, else the newest run's final LoRA under
// logging.output_dir, else none (the base model).
std::optional<std::filesystem::path> predict_lora_file(const TrainerConfig& config);

// One request after encoding: everything sampling needs besides the transformer.
struct KontextRequest {
  omni::ImageSize size;         // of the output
  at::Tensor control_tokens;    // [1, control tokens, channels], normalized packed latents
  std::vector<PackedGrid> grids;  // of the controls, in order
  FluxPromptEmbeds prompt;
  std::optional<FluxPromptEmbeds> negative_prompt;  // for true CFG
};

struct KontextSamplingSettings {
  int steps = 28;
  double guidance_scale = 2.5;
  double true_cfg_scale = 1.0;
  long seed = 42;
};

class KontextPredictor {
 public:
  // The whole pipeline on predict.devices, with the LoRA predict uses.
  KontextPredictor(const FluxKontextTrainer& trainer, const TrainerConfig& config,
                   omni::PromptEnhancer* enhancer);
  // The VAE (and the text encoders when `text_encoders`) only, on `devices`, to sample with
  // a transformer the caller owns (validation during fit samples with the model in training).
  KontextPredictor(const FluxKontextTrainer& trainer, const TrainerConfig& config,
                   omni::PromptEnhancer* enhancer, const DeviceMap& devices, bool text_encoders);

  omni::Image generate(const PredictSample& sample);

  // Reads, resizes and encodes the sample's images and prompt(s); the negative prompt is
  // encoded when `with_negative` and the sample has one.
  KontextRequest encode(const PredictSample& sample, bool with_negative);
  // Samples `request` with `transformer` (its own device and dtype) and decodes the image.
  omni::Image render(FluxTransformer2DModelImpl& transformer, const KontextRequest& request,
                     const KontextSamplingSettings& settings);
  // The VAE's spatial scale times the 2x2 packing: output sizes are multiples of it.
  std::int64_t pixels_per_token() const;
  // Frees the text encoders once every prompt is encoded.
  void release_text_encoders() { text_ = {}; }

 private:
  const FluxKontextTrainer& trainer_;
  const TrainerConfig& config_;
  omni::PromptEnhancer* enhancer_;
  KontextModelPaths paths_;
  FluxTransformer2DModel transformer_{nullptr};
  AutoencoderKL vae_{nullptr};
  KontextTextEncoders text_;
  c10::Device vae_device_ = c10::Device(c10::kCPU);
};

}  // namespace flux_kontext
