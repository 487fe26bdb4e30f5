#pragma once
// Where the parts of a FLUX.1 Kontext pipeline come from (model.* keys) and on which device
// each stage runs them (cache.devices, train.fit_device, predict.devices).
#include <filesystem>
#include <memory>
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "flux_kontext/autoencoder_kl.hpp"
#include "flux_kontext/export.hpp"
#include "flux_kontext/flow_match_scheduler.hpp"
#include "flux_kontext/flux_transformer.hpp"
#include "flux_kontext/text_encoders.hpp"
#include "flux_kontext/trainer_config.hpp"

namespace flux_kontext {

struct KontextModelPaths {
  std::string pipeline;  // the folder or repo id, as configured
  std::string revision;
  std::filesystem::path transformer, vae, scheduler;
  // The text side's folders, for cache keys (the encoders load from `pipeline` themselves).
  std::filesystem::path text_encoder, text_encoder_2, tokenizer, tokenizer_2;
};

// Resolves model.pretrained_model_name_or_path (a local folder or a repo id in the Hugging
// Face cache) and model.vae_path; throws omni::Error naming what is missing.
FLUX_KONTEXT_API KontextModelPaths resolve_model_paths(const ModelConfig& model);

// The device for one component: the map's entry, else `fallback`, else CUDA when this
// process has it, else the CPU.
FLUX_KONTEXT_API c10::Device component_device(const std::optional<std::string>& entry,
                                              const std::optional<std::string>& fallback = {});

// A short fingerprint of a model folder's files (canonical path, names, sizes, modification
// times) for cache keys: a changed or replaced model gives another identity, and computing it
// loads nothing.
FLUX_KONTEXT_API std::string folder_identity(const std::filesystem::path& folder);

FLUX_KONTEXT_API AutoencoderKL load_vae(const KontextModelPaths& paths, c10::Device device);

// The CLIP and T5 encoders of the pipeline folder, on the given devices.
struct KontextTextEncoders {
  std::unique_ptr<ClipTextEncoder> clip;
  std::unique_ptr<T5TextEncoder> t5;
};
FLUX_KONTEXT_API KontextTextEncoders load_text_encoders(const KontextModelPaths& paths,
                                                        c10::Device clip_device,
                                                        c10::Device t5_device);

// Puts `model.base_loras` on the transformer in order: `fuse: true` folds a LoRA into the
// base weights, `fuse: false` stacks it as a fixed adapter; either way it is never trained.
// Call before the trainable LoRA is attached. Errors name the file (lora_files.hpp).
FLUX_KONTEXT_API void apply_base_loras(FluxTransformer2DModelImpl& model,
                                       const std::vector<BaseLora>& base_loras);

}  // namespace flux_kontext
