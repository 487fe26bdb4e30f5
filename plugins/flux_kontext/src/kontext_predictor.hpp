#pragma once
// Image generation with the trained LoRA: loads the pipeline once (on predict.devices) and
// turns (control images, prompt) into a PNG-ready image with the Kontext sampling loop.
#include <filesystem>
#include <memory>
#include <optional>

#include "flux_kontext/flux_kontext_trainer.hpp"
#include "flux_kontext/kontext_components.hpp"
#include "omni/image.hpp"

namespace flux_kontext {

// The LoRA predict uses: predict.lora_path, else the newest run's final LoRA under
// logging.output_dir, else none (the base model).
std::optional<std::filesystem::path> predict_lora_file(const TrainerConfig& config);

class KontextPredictor {
 public:
  KontextPredictor(const FluxKontextTrainer& trainer, const TrainerConfig& config,
                   omni::PromptEnhancer* enhancer);
  omni::Image generate(const PredictSample& sample);

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
