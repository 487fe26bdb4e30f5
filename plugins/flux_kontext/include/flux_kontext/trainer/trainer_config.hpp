#pragma once
// The schema of a FluxKontext (and DreamOmni2) config: every section the trainer owns, with
// the key names of the upstream Python tool so its users' configs carry over.
#include <optional>
#include <string>
#include <vector>

#include "flux_kontext/export.hpp"
#include "omni/training/lora_adapters.hpp"
#include "omni/training/optimizers.hpp"
#include "omni/config.hpp"

namespace flux_kontext {

// Where each model component runs; unset entries fall back to the stage's default device.
struct DeviceMap {
  std::optional<std::string> vae, vae_encoder, text_encoder, text_encoder_2, dit,
      prompt_enhancer;
};

struct LoraConfig {
  int r = 16;
  double lora_alpha = 16;
  std::string init_lora_weights = "gaussian";  // gaussian | normal | zero
  std::vector<std::string> target_modules{"to_k", "to_q", "to_v", "to_out.0"};
  double lora_dropout = 0.0;
  std::optional<std::string> pretrained_weight;
  std::string adapter_name = "default";
};

// The adapters the `lora` section asks for; "zero" is PEFT's default init (B = 0).
omni::LoraSpec lora_spec(const LoraConfig& config);

struct BaseLora {
  std::string path;
  double scale = 1.0;
  bool fuse = false;
};

struct ModelConfig {
  std::string pretrained_model_name_or_path;
  std::optional<std::string> revision;
  std::optional<std::string> vae_path, text_encoder_path, text_encoder_2_path;
  // The transformer elsewhere than the pipeline folder's transformer/: a diffusers folder or
  // BFL's single file (flux1-kontext-dev.safetensors, as ComfyUI users have it).
  std::optional<std::string> transformer_path;
  bool quantize = false;
  bool use_vlm_prompt_enhancer = false;
  std::string prompt_enhancer = "qwen2_5_vl";  // registry name of the enhancer
  // Registry names of the text encoders (model.text_encoders): the pooled prompt embedding's
  // (CLIP-L) and the sequence's (T5-XXL). Another plugin's encoder can take either place.
  std::string text_encoder = "clip_text";
  std::string text_encoder_2 = "t5_encoder";
  // Appended to the instruction the enhancer sees. Empty here; DreamOmni2's trainer defaults it
  // to its VLM's convention, " It is editing task." (" It is generation task." for
  // subject-driven generation).
  std::string prompt_enhancer_suffix;
  LoraConfig lora;
  std::vector<BaseLora> base_loras;
};

struct ProcessorConfig {
  std::string process_type = "center_crop";  // resize | center_padding | right_padding | ...
  std::string resize_mode = "bilinear";
  std::optional<std::vector<int>> target_size;                 // [H, W]
  std::optional<std::vector<std::vector<int>>> controls_size;  // [[H, W], ...]
  std::optional<long> target_pixels;
  std::vector<long> controls_pixels;
  std::vector<long> multi_resolutions;  // pixel budgets
  double max_aspect_ratio = 3.0;
  bool resize_controls_mask_to_image = false;
};

struct DataConfig {
  std::vector<std::string> dataset_path;  // folders or CSV / JSONL manifests
  double caption_dropout_rate = 0.0;
  double prompt_image_dropout_rate = 0.0;
  bool use_edit_mask = false;
  std::vector<int> selected_control_indexes;
  bool allow_paths_outside_dataset = false;  // manifests may name files outside their folder
  ProcessorConfig processor;
  int batch_size = 1;
  int num_workers = 1;
  bool shuffle = true;
};

struct ValidationSample {
  std::string prompt;
  std::vector<std::string> images;
  std::optional<int> height, width;
  std::optional<std::string> negative_prompt;
  std::optional<double> guidance_scale;
  int num_inference_steps = 20;
};

struct ValidationConfig {
  bool enabled = false;
  int steps = 100;
  int max_samples = 4;
  long seed = 42;
  std::optional<DataConfig> dataset;
  std::vector<ValidationSample> samples;
  // At the end of fit, also score and sample the set with the LoRA switched off, for the
  // run report's base-vs-LoRA comparison (run_report.hpp).
  bool compare_base = false;
};

struct LoggingConfig {
  std::string output_dir = "./output";
  std::string report_to = "tensorboard";  // tensorboard | none
  std::optional<std::string> tracker_project_name;
  std::vector<std::string> tags;
  std::optional<std::string> notes;
};

// The `optimizer` section: the SDK's optimizer settings (omni/training/optimizers.hpp).
using OptimizerConfig = omni::OptimizerSettings;

struct LrSchedulerConfig {
  std::string scheduler_type = "constant";
  int warmup_steps = 0;
  double num_cycles = 0.5;
  double power = 1.0;
};

struct LossConfig {
  std::string kind = "mse";  // mse | mask_edit | attention_mask_mse
  double foreground_weight = 2.0;
  double background_weight = 1.0;
  double eps = 1e-12;
  std::string reduction = "mean";
};

struct TrainConfig {
  int gradient_accumulation_steps = 4;
  long max_train_steps = 1000;
  long checkpointing_steps = 500;
  std::optional<int> keep_last_n;  // upstream: checkpoints_total_limit
  double max_grad_norm = 1.0;
  std::string mixed_precision = "bf16";  // bf16 | fp16 | no
  bool gradient_checkpointing = true;
  bool low_memory = false;
  DeviceMap fit_device;
  // Every random draw derives from it (see sample_randomness.hpp).
  long seed = 42;
  // The distilled-guidance value the transformer sees while training (Kontext: 1.0).
  double guidance = 1.0;
  std::string timestep_sampling = "uniform";  // uniform | logit_normal | sigmoid
  double logit_mean = 0.0;
  double logit_std = 1.0;
  double sigmoid_scale = 1.0;
  // Shift sampled timesteps by the resolution-dependent mu, as sampling does.
  bool shift_timesteps = false;
  // Print a progress line every this many optimizer steps.
  long log_every = 1;
  // A step whose loss or gradient is NaN or infinite is skipped (no optimizer step); after
  // this many in a row, fit checkpoints the last good state and stops.
  int max_consecutive_bad_steps = 10;
};

struct CacheConfig {
  DeviceMap devices;
  bool use_cache = true;
  std::string cache_dir = "./cache/";
  std::vector<std::string> prompt_empty_drop_keys{"prompt_embeds", "pooled_prompt_embeds"};
};

// One image to generate: the control images, the prompt, and optional overrides.
struct PredictSample {
  std::string prompt;
  std::vector<std::string> images;
  std::optional<std::string> negative_prompt;
  std::optional<int> height, width;
  std::optional<std::string> output;  // file name under predict.output_dir
};

struct PredictConfig {
  DeviceMap devices;
  std::vector<PredictSample> samples;
  std::optional<std::string> output_dir;  // default: <logging.output_dir>/predictions
  std::optional<std::string> lora_path;   // default: the newest run's final LoRA, if any
  double lora_scale = 1.0;
  int num_inference_steps = 28;
  double guidance_scale = 2.5;  // the Kontext pipeline's default
  double true_cfg_scale = 1.0;
  long seed = 42;
};

// Inputs a run creates when they are missing (embedded_inputs.hpp): the quickstart's way of
// needing no download.
struct MakeMissingConfig {
  std::optional<std::string> model;    // model preset ("tiny") at model.pretrained_model_name_or_path
  std::optional<std::string> dataset;  // data set preset ("shapes") at the data paths
  int train_samples = 32;
  int held_out_samples = 4;
  int image_size = 64;
  int shape_references = 1;
  long seed = 0;
};

struct TrainerConfig {
  MakeMissingConfig make_missing;
  ModelConfig model;
  DataConfig data;
  ValidationConfig validation;
  LoggingConfig logging;
  OptimizerConfig optimizer;
  LrSchedulerConfig lr_scheduler;
  LossConfig loss;
  TrainConfig train;
  CacheConfig cache;
  PredictConfig predict;
  // The whole config as read (after overrides), copied into every checkpoint.
  std::string config_yaml;
};

// Reads every trainer section of `root` strictly (unknown keys are left for the document's
// check). Loads nothing. Throws omni::ConfigError.
// `defaults` holds the values of keys the config leaves out: a trainer of the family changes
// them (DreamOmni2: model.prompt_enhancer_suffix).
FLUX_KONTEXT_API TrainerConfig parse_trainer_config(const omni::ConfigView& root,
                                                    const TrainerConfig& defaults = {});

}  // namespace flux_kontext
