#pragma once
// Where the parts of a FLUX.1 Kontext pipeline come from (model.* keys) and on which device
// each stage runs them (cache.devices, train.fit_device, predict.devices).
#include <filesystem>
#include <memory>
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "flux_kontext/vae/autoencoder_kl.hpp"
#include "flux_kontext/sampling/flow_match_scheduler.hpp"
#include "flux_kontext/model/flux_transformer.hpp"
#include "flux_kontext/text/text_encoders.hpp"
#include "flux_kontext/trainer/trainer_config.hpp"
#include "omni/component.hpp"
#include "omni/config.hpp"
#include "omni/text_encoder.hpp"

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
KontextModelPaths resolve_model_paths(const ModelConfig& model);

// The device for one component: the map's entry, else `fallback`, else CUDA when this
// process has it, else the CPU.
c10::Device component_device(const std::optional<std::string>& entry,
                             const std::optional<std::string>& fallback = {});

// A short fingerprint of a model folder's files (canonical path, names, sizes, modification
// times) for cache keys: a changed or replaced model gives another identity, and computing it
// loads nothing.
std::string folder_identity(const std::filesystem::path& folder);

AutoencoderKL load_vae(const KontextModelPaths& paths, c10::Device device);

// The two text encoders of the pipeline folder, built by their registered names
// (model.text_encoders) on the given devices.
struct KontextTextEncoders {
  std::unique_ptr<omni::TextEncoder> text_encoder;    // the pooled prompt embedding (CLIP-L)
  std::unique_ptr<omni::TextEncoder> text_encoder_2;  // the sequence (T5-XXL)
};
// `components` is the registry, where any plugin's encoder can be found; without one (tools,
// tests) only this plugin's own `clip_text` and `t5_encoder` can be named. Each encoder gets
// the options {model, revision, subfolder, tokenizer_subfolder, device} of its place.
KontextTextEncoders load_text_encoders(const KontextModelPaths& paths,
                                       const ModelConfig& model,
                                       c10::Device device,
                                       c10::Device device_2,
                                       const omni::ComponentProvider* components);

// The options load_text_encoders gives the encoder of `place` ("text_encoder" or
// "text_encoder_2"), as a config document, so that validation checks the same thing.
// `weights`, when not empty, is the folder of the encoder's weights
// (model.pretrained_embeddings).
omni::ConfigDocument text_encoder_options(const std::string& pipeline,
                                          const std::string& revision,
                                          const std::string& place,
                                          const std::string& device,
                                          const std::filesystem::path& weights = {});

// Puts `model.base_loras` on the transformer in order: `fuse: true` folds a LoRA into the
// base weights, `fuse: false` stacks it as a fixed adapter; either way it is never trained.
// Call before the trainable LoRA is attached. Errors name the file (lora_files.hpp).
void apply_base_loras(FluxTransformer2DModelImpl& model,
                      const std::vector<BaseLora>& base_loras);

}  // namespace flux_kontext
