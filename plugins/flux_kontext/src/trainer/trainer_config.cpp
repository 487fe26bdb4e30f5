#include "flux_kontext/trainer/trainer_config.hpp"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

namespace flux_kontext {
namespace {

using omni::ConfigView;

void require_positive(const ConfigView& view, std::string_view key, double value) {
  if (!(value > 0)) view.fail(key, fmt::format("expected a value > 0, got {}", value));
}

void require_range(const ConfigView& view, std::string_view key, double value, double low,
                   double high) {
  if (value < low || value > high) {
    view.fail(key, fmt::format("expected a value in [{}, {}], got {}", low, high, value));
  }
}

// "1048576" or "1024*1024": a pixel budget.
long parse_pixels(const ConfigView& view, std::string_view key, const std::string& text) {
  long total = 1;
  std::size_t start = 0;
  while (true) {
    std::size_t star = text.find('*', start);
    std::string factor = text.substr(start, star == std::string::npos ? star : star - start);
    char* end = nullptr;
    long value = std::strtol(factor.c_str(), &end, 10);
    if (factor.empty() || *end != '\0' || value <= 0) {
      view.fail(key, fmt::format("expected a pixel count such as 1048576 or 1024*1024, got '{}'",
                                 text));
    }
    total *= value;
    if (star == std::string::npos) return total;
    start = star + 1;
  }
}

std::vector<long> parse_pixel_list(const ConfigView& view, std::string_view key) {
  std::vector<long> out;
  for (const std::string& text : view.get<std::vector<std::string>>(key, {})) {
    out.push_back(parse_pixels(view, key, text));
  }
  return out;
}

void check_size(const ConfigView& view, std::string_view key, const std::vector<int>& size) {
  if (size.size() != 2 || size[0] <= 0 || size[1] <= 0) {
    view.fail(key, "expected [height, width] with both > 0");
  }
}

DeviceMap parse_devices(const ConfigView& view) {
  DeviceMap devices;
  auto read = [&](std::string_view key, std::optional<std::string>& out) {
    if (view.has(key)) out = view.get_device(key, "cpu");
  };
  read("vae", devices.vae);
  read("vae_encoder", devices.vae_encoder);
  read("text_encoder", devices.text_encoder);
  read("text_encoder_2", devices.text_encoder_2);
  read("dit", devices.dit);
  read("prompt_enhancer", devices.prompt_enhancer);
  // Upstream's intended rule: `vae` falls back to `vae_encoder`.
  if (!devices.vae) devices.vae = devices.vae_encoder;
  return devices;
}

LoraConfig parse_lora(const ConfigView& view) {
  LoraConfig lora;
  lora.r = view.get<int>("r", lora.r);
  if (lora.r <= 0) view.fail("r", "expected a rank > 0");
  lora.lora_alpha = view.get<double>("lora_alpha", lora.lora_alpha);
  require_positive(view, "lora_alpha", lora.lora_alpha);
  lora.init_lora_weights =
      view.get_enum("init_lora_weights", {"gaussian", "normal", "zero"}, lora.init_lora_weights);
  lora.target_modules = view.get<std::vector<std::string>>("target_modules", lora.target_modules);
  if (lora.target_modules.empty()) view.fail("target_modules", "expected at least one pattern");
  lora.lora_dropout = view.get<double>("lora_dropout", lora.lora_dropout);
  require_range(view, "lora_dropout", lora.lora_dropout, 0.0, 0.999);
  lora.pretrained_weight = view.get_optional<std::string>("pretrained_weight");
  lora.adapter_name = view.get<std::string>("adapter_name", lora.adapter_name);
  if (view.has("adapter_name")) {
    view.warn("adapter_name", "has no effect: LoRA files carry no adapter name (diffusers' "
                              "load_lora_weights(adapter_name=...) names the adapter when loading)");
  }
  return lora;
}

ModelConfig parse_model(const ConfigView& view, ModelConfig model) {
  model.pretrained_model_name_or_path = view.get<std::string>("pretrained_model_name_or_path");
  model.revision = view.get_optional<std::string>("revision");
  model.transformer_path = view.get_optional<std::string>("transformer_path");
  if (auto embeddings = view.optional_child("pretrained_embeddings")) {
    model.vae_path = embeddings->get_optional<std::string>("vae");
    model.text_encoder_path = embeddings->get_optional<std::string>("text_encoder");
    model.text_encoder_2_path = embeddings->get_optional<std::string>("text_encoder_2");
  }
  model.quantize = view.get<bool>("quantize", false);
  if (model.quantize) {
    view.fail("quantize", "online fp8 quantization is not supported; use a bf16 or fp16 model");
  }
  model.use_vlm_prompt_enhancer = view.get<bool>("use_vlm_prompt_enhancer", false);
  model.prompt_enhancer = view.get<std::string>("prompt_enhancer", model.prompt_enhancer);
  if (auto encoders = view.optional_child("text_encoders")) {
    model.text_encoder = encoders->get<std::string>("text_encoder", model.text_encoder);
    model.text_encoder_2 = encoders->get<std::string>("text_encoder_2", model.text_encoder_2);
  }
  model.prompt_enhancer_suffix =
      view.get<std::string>("prompt_enhancer_suffix", model.prompt_enhancer_suffix);
  model.lora = parse_lora(view.child_or_empty("lora"));
  for (const ConfigView& item : view.items("base_loras")) {
    BaseLora base;
    base.path = item.get<std::string>("path");
    base.scale = item.get<double>("scale", 1.0);
    base.fuse = item.get<bool>("fuse", false);
    model.base_loras.push_back(base);
  }
  return model;
}

ProcessorConfig parse_processor(const ConfigView& processor_section) {
  ProcessorConfig processor;
  // The processor is built in; upstream's class name is accepted, another one is refused.
  processor_section.get_enum("class_path",
                             {"qflux.data.preprocess.ImageProcessor", "ImageProcessor"},
                             "qflux.data.preprocess.ImageProcessor");
  ConfigView view = processor_section.child_or_empty("init_args");
  processor.process_type = view.get_enum(
      "process_type", {"resize", "center_crop", "center_padding", "right_padding", "fixed_pixels"},
      processor.process_type);
  processor.resize_mode = view.get_enum(
      "resize_mode", {"nearest", "linear", "bilinear", "bicubic", "lanczos", "area"},
      processor.resize_mode);
  if (auto size = view.get_optional<std::vector<int>>("target_size")) {
    check_size(view, "target_size", *size);
    processor.target_size = size;
  }
  if (auto sizes = view.get_optional<std::vector<std::vector<int>>>("controls_size")) {
    for (const auto& size : *sizes) check_size(view, "controls_size", size);
    processor.controls_size = sizes;
  }
  if (auto pixels = view.get_optional<std::string>("target_pixels")) {
    processor.target_pixels = parse_pixels(view, "target_pixels", *pixels);
  }
  processor.controls_pixels = parse_pixel_list(view, "controls_pixels");
  processor.multi_resolutions = parse_pixel_list(view, "multi_resolutions");
  processor.max_aspect_ratio = view.get<double>("max_aspect_ratio", processor.max_aspect_ratio);
  require_positive(view, "max_aspect_ratio", processor.max_aspect_ratio);
  processor.resize_controls_mask_to_image = view.get<bool>("resize_controls_mask_to_image", false);
  if (view.has("resize_controls_mask_to_image")) {
    view.warn("resize_controls_mask_to_image",
              "has no effect: control images carry no masks here; the edit mask is resized with "
              "the target");
  }
  return processor;
}

DataConfig parse_data(const ConfigView& view, DataConfig data) {
  // The data set reader is built in; upstream's class name is accepted, another is refused.
  view.get_enum("class_path", {"qflux.data.dataset.ImageDataset", "ImageDataset"},
                "qflux.data.dataset.ImageDataset");
  ConfigView init = view.child_or_empty("init_args");
  if (init.has("dataset_path") && init.node()["dataset_path"].IsSequence()) {
    for (const YAML::Node& entry : init.node()["dataset_path"]) {
      if (entry.IsMap()) {
        init.fail("dataset_path",
                  "Hugging Face dataset entries ({repo_id, split}) cannot be downloaded here; "
                  "give a local folder or a CSV/JSONL manifest");
      }
    }
  }
  data.dataset_path = init.get<std::vector<std::string>>("dataset_path", {});
  data.caption_dropout_rate = init.get<double>("caption_dropout_rate", 0.0);
  require_range(init, "caption_dropout_rate", data.caption_dropout_rate, 0.0, 1.0);
  data.prompt_image_dropout_rate = init.get<double>("prompt_image_dropout_rate", 0.0);
  require_range(init, "prompt_image_dropout_rate", data.prompt_image_dropout_rate, 0.0, 1.0);
  if (data.prompt_image_dropout_rate > 0) {
    init.fail("prompt_image_dropout_rate",
              "dropping the reference images is not supported; set it to 0 (caption dropout is "
              "caption_dropout_rate)");
  }
  // Upstream copies these from `cache`; accepted here for its configs, `cache` decides.
  init.get_optional<std::string>("cache_dir");
  init.get_optional<bool>("use_cache");
  init.get_optional<std::vector<std::string>>("prompt_empty_drop_keys");
  for (const char* key : {"cache_dir", "use_cache", "prompt_empty_drop_keys"}) {
    if (init.has(key)) init.warn(key, fmt::format("has no effect: cache.{} decides", key));
  }
  data.use_edit_mask = init.get<bool>("use_edit_mask", false);
  data.allow_paths_outside_dataset = init.get<bool>("allow_paths_outside_dataset", false);
  data.selected_control_indexes = init.get<std::vector<int>>("selected_control_indexes", {});
  for (int index : data.selected_control_indexes) {
    if (index < 1) init.fail("selected_control_indexes", "expected 1-based indexes of extra controls");
  }
  data.processor = parse_processor(init.child_or_empty("processor"));
  data.batch_size = view.get<int>("batch_size", 1);
  if (data.batch_size <= 0) view.fail("batch_size", "expected a batch size > 0");
  data.num_workers = view.get<int>("num_workers", 1);
  if (data.num_workers < 0) view.fail("num_workers", "expected 0 or more workers");
  if (view.has("num_workers")) {
    view.warn("num_workers", "has no effect: fit reads the cached samples from memory, without "
                             "loader workers");
  }
  data.shuffle = view.get<bool>("shuffle", true);
  return data;
}

ValidationConfig parse_validation(const ConfigView& view, ValidationConfig validation) {
  validation.enabled = view.get<bool>("enabled", false);
  validation.steps = view.get<int>("steps", validation.steps);
  validation.max_samples = view.get<int>("max_samples", validation.max_samples);
  validation.seed = view.get<long>("seed", validation.seed);
  validation.compare_base = view.get<bool>("compare_base", validation.compare_base);
  if (validation.enabled && validation.steps <= 0) view.fail("steps", "expected steps > 0");
  if (validation.enabled && validation.max_samples <= 0) {
    view.fail("max_samples", "expected max_samples > 0");
  }
  if (auto dataset = view.optional_child("dataset")) {
    validation.dataset = parse_data(*dataset, DataConfig{});
    // Held-out samples are encoded one by one, in order, with their own prompts.
    const ConfigView init = dataset->child_or_empty("init_args");
    for (const char* key : {"batch_size", "shuffle"}) {
      if (dataset->has(key)) {
        dataset->warn(key, "has no effect in validation: held-out samples are sampled one by "
                           "one, in the data set's order");
      }
    }
    if (init.has("caption_dropout_rate")) {
      init.warn("caption_dropout_rate", "has no effect in validation: held-out samples keep "
                                        "their prompts");
    }
  }
  for (const ConfigView& item : view.items("samples")) {
    ValidationSample sample;
    sample.prompt = item.get<std::string>("prompt");
    sample.images = item.get<std::vector<std::string>>("images");
    if (sample.images.empty()) item.fail("images", "expected at least one image");
    if (item.has("controls_size")) {
      item.fail("controls_size", "is not supported for validation samples: as in predict, the "
                                 "first image takes the output size and the others its pixel "
                                 "count on their own aspect ratio");
    }
    sample.height = item.get_optional<int>("height");
    sample.width = item.get_optional<int>("width");
    sample.negative_prompt = item.get_optional<std::string>("negative_prompt");
    if (sample.negative_prompt) {
      item.warn("negative_prompt", "has no effect: validation samples without true CFG (a "
                                   "negative prompt is used by predict with true_cfg_scale > 1)");
    }
    sample.guidance_scale = item.get_optional<double>("guidance_scale");
    sample.num_inference_steps = item.get<int>("num_inference_steps", 20);
    validation.samples.push_back(sample);
  }
  if (validation.enabled && !validation.dataset && validation.samples.empty()) {
    view.fail("enabled", "validation is enabled but neither 'dataset' nor 'samples' is given");
  }
  return validation;
}

LoggingConfig parse_logging(const ConfigView& view, LoggingConfig logging) {
  logging.output_dir = view.get<std::string>("output_dir", logging.output_dir);
  logging.report_to =
      view.get_enum("report_to", {"tensorboard", "wandb", "swanlab", "none"}, logging.report_to);
  if (logging.report_to == "wandb" || logging.report_to == "swanlab") {
    view.warn("report_to", fmt::format("'{}' is not available in omnihost; TensorBoard event "
                                       "files are written instead",
                                       logging.report_to));
    logging.report_to = "tensorboard";
  }
  logging.tracker_project_name = view.get_optional<std::string>("tracker_project_name");
  if (logging.tracker_project_name) {
    view.warn("tracker_project_name", "names no tracker project here: TensorBoard files go to "
                                      "<run folder>/tensorboard (references such as "
                                      "${logging.tracker_project_name} still resolve)");
  }
  logging.tags = view.get<std::vector<std::string>>("tags", {});
  logging.notes = view.get_optional<std::string>("notes");
  for (const char* key : {"tags", "notes"}) {
    if (view.has(key)) {
      view.warn(key, "has no effect: run tags and notes belong to wandb/swanlab, which are not "
                     "available here");
    }
  }
  return logging;
}

OptimizerConfig parse_optimizer(const ConfigView& view, OptimizerConfig optimizer) {
  std::string class_path = view.get_enum(
      "class_path",
      {"torch.optim.AdamW", "AdamW", "prodigyopt.Prodigy", "Prodigy",
       "transformers.optimization.Adafactor", "Adafactor"},
      "torch.optim.AdamW");
  optimizer.name = class_path.substr(class_path.rfind('.') + 1);
  ConfigView args = view.child_or_empty("init_args");
  optimizer.lr = args.get<double>("lr", optimizer.name == "Prodigy" ? 1.0 : 1e-4);
  require_positive(args, "lr", optimizer.lr);
  // Each class's own default, as the upstream tool passes init_args straight to it.
  optimizer.weight_decay =
      args.get<double>("weight_decay", optimizer.name == "AdamW" ? optimizer.weight_decay : 0.0);
  if (optimizer.weight_decay < 0) args.fail("weight_decay", "expected a value >= 0");
  optimizer.eps = args.get<double>("eps", optimizer.name == "Adafactor" ? 1e-30 : 1e-8);
  if (optimizer.name != "Adafactor") {
    optimizer.betas = args.get<std::vector<double>>("betas", optimizer.betas);
    if (optimizer.betas.size() != 2) args.fail("betas", "expected two values [beta1, beta2]");
    for (double beta : optimizer.betas) require_range(args, "betas", beta, 0.0, 0.999999);
  }
  if (optimizer.name == "Prodigy") {
    optimizer.use_bias_correction = args.get<bool>("use_bias_correction", false);
    optimizer.safeguard_warmup = args.get<bool>("safeguard_warmup", false);
    optimizer.d_coef = args.get<double>("d_coef", 1.0);
  }
  return optimizer;
}

LrSchedulerConfig parse_lr_scheduler(const ConfigView& view, LrSchedulerConfig scheduler) {
  scheduler.scheduler_type = view.get_enum(
      "scheduler_type",
      {"constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial"},
      scheduler.scheduler_type);
  scheduler.warmup_steps = view.get<int>("warmup_steps", 0);
  if (scheduler.warmup_steps < 0) view.fail("warmup_steps", "expected a value >= 0");
  scheduler.num_cycles = view.get<double>("num_cycles", scheduler.num_cycles);
  require_positive(view, "num_cycles", scheduler.num_cycles);
  scheduler.power = view.get<double>("power", scheduler.power);
  require_positive(view, "power", scheduler.power);
  return scheduler;
}

// The foreground weight under either spelling (upstream writes "forground_weight"); returns
// the key the user wrote, so that an error names it.
std::string read_foreground_weight(const ConfigView& view, double& weight) {
  for (const char* key : {"foreground_weight", "forground_weight"}) {
    if (std::optional<double> value = view.get_optional<double>(key)) {
      weight = *value;
      return key;
    }
  }
  return "foreground_weight";
}

LossConfig parse_loss(const ConfigView& view, LossConfig loss) {
  // Where the weights were read, for the range checks below.
  ConfigView weights_view = view;
  std::string foreground_key = "foreground_weight";
  if (view.has("class_path")) {
    std::string class_path = view.get_enum(
        "class_path",
        {"qflux.losses.MseLoss", "MseLoss", "qflux.losses.MaskEditLoss", "MaskEditLoss",
         "qflux.losses.AttentionMaskMseLoss", "qflux.losses.attention_mask_loss.AttentionMaskMseLoss",
         "AttentionMaskMseLoss"});
    std::string name = class_path.substr(class_path.rfind('.') + 1);
    loss.kind = name == "MseLoss" ? "mse" : name == "MaskEditLoss" ? "mask_edit" : "attention_mask_mse";
    ConfigView args = view.child_or_empty("init_args");
    if (loss.kind != "mse") {
      foreground_key = read_foreground_weight(args, loss.foreground_weight);
      loss.background_weight = args.get<double>("background_weight", loss.background_weight);
      weights_view = args;
    }
    if (loss.kind == "attention_mask_mse") {
      loss.eps = args.get<double>("eps", loss.eps);
      loss.reduction = args.get_enum("reduction", {"mean", "sum"}, "mean");
    }
  }
  // The legacy keys; they choose the loss when no class_path.
  bool mask_loss = view.get<bool>("mask_loss", false);
  double legacy_foreground = loss.foreground_weight;
  std::string legacy_foreground_key = read_foreground_weight(view, legacy_foreground);
  double legacy_background = view.get<double>("background_weight", loss.background_weight);
  if (!view.has("class_path")) {
    loss.kind = mask_loss ? "mask_edit" : "mse";
    loss.foreground_weight = legacy_foreground;
    loss.background_weight = legacy_background;
    foreground_key = legacy_foreground_key;
  }
  if (loss.foreground_weight < 0) weights_view.fail(foreground_key, "expected a weight >= 0");
  if (loss.background_weight < 0) weights_view.fail("background_weight", "expected a weight >= 0");
  return loss;
}

TrainConfig parse_train(const ConfigView& view, TrainConfig train) {
  // Upstream copies data.batch_size into train_batch_size and never reads num_epochs.
  if (view.get_optional<int>("train_batch_size")) {
    view.warn("train_batch_size", "has no effect: data.batch_size sets the batch size");
  }
  if (view.get_optional<int>("num_epochs")) {
    view.warn("num_epochs", "has no effect: train.max_train_steps sets the length of training");
  }
  train.gradient_accumulation_steps = view.get<int>("gradient_accumulation_steps", 4);
  if (train.gradient_accumulation_steps <= 0) {
    view.fail("gradient_accumulation_steps", "expected a value > 0");
  }
  train.max_train_steps = view.get<long>("max_train_steps", train.max_train_steps);
  if (train.max_train_steps <= 0) view.fail("max_train_steps", "expected a value > 0");
  train.checkpointing_steps = view.get<long>("checkpointing_steps", train.checkpointing_steps);
  if (train.checkpointing_steps <= 0) view.fail("checkpointing_steps", "expected a value > 0");
  // Upstream's checkpoints_total_limit is the same setting; keep_last_n wins when both are set.
  const std::optional<int> keep_last_n = view.get_optional<int>("keep_last_n");
  const std::optional<int> total_limit = view.get_optional<int>("checkpoints_total_limit");
  const char* keep_key = keep_last_n ? "keep_last_n" : "checkpoints_total_limit";
  train.keep_last_n = keep_last_n ? keep_last_n : total_limit;
  if (train.keep_last_n && *train.keep_last_n <= 0) {
    view.fail(keep_key, "expected a count > 0");
  }
  train.max_grad_norm = view.get<double>("max_grad_norm", train.max_grad_norm);
  require_positive(view, "max_grad_norm", train.max_grad_norm);
  train.mixed_precision = view.get_enum("mixed_precision", {"bf16", "fp16", "no"}, "bf16");
  train.gradient_checkpointing = view.get<bool>("gradient_checkpointing", true);
  train.low_memory = view.get<bool>("low_memory", false);
  if (train.low_memory) {
    view.warn("low_memory", "has no effect: fit never holds the VAE or the text encoders (the "
                            "cache stage computes their outputs and frees them)");
  }
  if (auto devices = view.optional_child("fit_device")) train.fit_device = parse_devices(*devices);
  train.seed = view.get<long>("seed", train.seed);
  train.guidance = view.get<double>("guidance", train.guidance);
  train.timestep_sampling =
      view.get_enum("timestep_sampling", {"uniform", "logit_normal", "sigmoid"}, "uniform");
  train.logit_mean = view.get<double>("logit_mean", train.logit_mean);
  train.logit_std = view.get<double>("logit_std", train.logit_std);
  require_positive(view, "logit_std", train.logit_std);
  train.sigmoid_scale = view.get<double>("sigmoid_scale", train.sigmoid_scale);
  require_positive(view, "sigmoid_scale", train.sigmoid_scale);
  train.shift_timesteps = view.get<bool>("shift_timesteps", false);
  train.log_every = view.get<long>("log_every", train.log_every);
  if (train.log_every <= 0) view.fail("log_every", "expected a value > 0");
  train.max_consecutive_bad_steps =
      view.get<int>("max_consecutive_bad_steps", train.max_consecutive_bad_steps);
  if (train.max_consecutive_bad_steps <= 0) {
    view.fail("max_consecutive_bad_steps", "expected a count > 0");
  }
  return train;
}

CacheConfig parse_cache(const ConfigView& view, CacheConfig cache) {
  cache.devices = parse_devices(view.child_or_empty("devices"));
  cache.use_cache = view.get<bool>("use_cache", true);
  cache.cache_dir = view.get<std::string>("cache_dir", cache.cache_dir);
  if (cache.cache_dir.empty()) view.fail("cache_dir", "expected a folder");
  cache.prompt_empty_drop_keys =
      view.get<std::vector<std::string>>("prompt_empty_drop_keys", cache.prompt_empty_drop_keys);
  return cache;
}

PredictConfig parse_predict(const ConfigView& view, PredictConfig predict) {
  predict.devices = parse_devices(view.child_or_empty("devices"));
  for (const ConfigView& item : view.items("samples")) {
    PredictSample sample;
    sample.prompt = item.get<std::string>("prompt");
    sample.images = item.get<std::vector<std::string>>("images");
    if (sample.images.empty()) item.fail("images", "expected at least one control image");
    sample.negative_prompt = item.get_optional<std::string>("negative_prompt");
    sample.height = item.get_optional<int>("height");
    sample.width = item.get_optional<int>("width");
    for (const char* key : {"height", "width"}) {
      std::optional<int> value = item.get_optional<int>(key);
      if (value && (*value <= 0 || *value % 16 != 0)) item.fail(key, "expected a multiple of 16");
    }
    sample.output = item.get_optional<std::string>("output");
    predict.samples.push_back(sample);
  }
  predict.output_dir = view.get_optional<std::string>("output_dir");
  predict.lora_path = view.get_optional<std::string>("lora_path");
  predict.lora_scale = view.get<double>("lora_scale", predict.lora_scale);
  predict.num_inference_steps = view.get<int>("num_inference_steps", predict.num_inference_steps);
  if (predict.num_inference_steps <= 0) view.fail("num_inference_steps", "expected steps > 0");
  predict.guidance_scale = view.get<double>("guidance_scale", predict.guidance_scale);
  predict.true_cfg_scale = view.get<double>("true_cfg_scale", predict.true_cfg_scale);
  require_positive(view, "true_cfg_scale", predict.true_cfg_scale);
  predict.seed = view.get<long>("seed", predict.seed);
  return predict;
}

MakeMissingConfig parse_make_missing(const ConfigView& view, MakeMissingConfig make) {
  make.model = view.get_optional<std::string>("model");
  if (make.model && *make.model != "tiny") view.fail("model", "expected the model preset 'tiny'");
  make.dataset = view.get_optional<std::string>("dataset");
  if (make.dataset && *make.dataset != "shapes") {
    view.fail("dataset", "expected the data set preset 'shapes'");
  }
  make.train_samples = view.get<int>("train_samples", make.train_samples);
  require_positive(view, "train_samples", make.train_samples);
  make.held_out_samples = view.get<int>("held_out_samples", make.held_out_samples);
  require_positive(view, "held_out_samples", make.held_out_samples);
  make.image_size = view.get<int>("image_size", make.image_size);
  if (make.image_size < 32 || make.image_size % 16 != 0) {
    view.fail("image_size", "expected a multiple of 16, at least 32");
  }
  make.shape_references = view.get<int>("shape_references", make.shape_references);
  require_range(view, "shape_references", make.shape_references, 1, 2);
  make.seed = view.get<long>("seed", make.seed);
  return make;
}

// As upstream, the edit masks (`<stem>_mask.png`) are read with data.init_args.use_edit_mask
// and weigh only the mask losses: either without the other is a mistake worth a message.
void check_edit_masks(const ConfigView& root, const TrainerConfig& config) {
  const bool mask_loss = config.loss.kind != "mse";
  if (mask_loss && !config.data.use_edit_mask) {
    const ConfigView loss = root.child("loss");
    loss.fail(loss.has("class_path") ? "class_path" : "mask_loss",
              "this loss weighs the edit masks; set data.init_args.use_edit_mask: true");
  }
  if (!mask_loss && config.data.use_edit_mask) {
    root.child("data").child("init_args").warn(
        "use_edit_mask", "has no effect with the plain MSE loss (loss.mask_loss: true or a mask "
                         "loss class reads the masks)");
  }
}

}  // namespace

TrainerConfig parse_trainer_config(const ConfigView& root, const TrainerConfig& defaults) {
  TrainerConfig config;
  config.make_missing = parse_make_missing(root.child_or_empty("make_missing"), defaults.make_missing);
  config.model = parse_model(root.child("model"), defaults.model);
  config.data = parse_data(root.child_or_empty("data"), defaults.data);
  config.validation = parse_validation(root.child_or_empty("validation"), defaults.validation);
  config.logging = parse_logging(root.child_or_empty("logging"), defaults.logging);
  config.optimizer = parse_optimizer(root.child_or_empty("optimizer"), defaults.optimizer);
  config.lr_scheduler = parse_lr_scheduler(root.child_or_empty("lr_scheduler"), defaults.lr_scheduler);
  config.loss = parse_loss(root.child_or_empty("loss"), defaults.loss);
  check_edit_masks(root, config);
  config.train = parse_train(root.child_or_empty("train"), defaults.train);
  config.cache = parse_cache(root.child_or_empty("cache"), defaults.cache);
  config.predict = parse_predict(root.child_or_empty("predict"), defaults.predict);
  if (config.make_missing.dataset && config.data.dataset_path.size() != 1) {
    root.child("make_missing").fail("dataset", "needs exactly one data.init_args.dataset_path: the "
                                               "folder to write the training split to");
  }
  YAML::Emitter emitter;
  emitter << root.node();
  config.config_yaml = emitter.c_str();
  return config;
}

omni::LoraSpec lora_spec(const LoraConfig& config) {
  omni::LoraSpec spec;
  spec.rank = config.r;
  spec.alpha = config.lora_alpha;
  spec.init = omni::parse_lora_init(config.init_lora_weights, "lora.init_lora_weights");
  spec.dropout = config.lora_dropout;
  spec.target_modules = config.target_modules;
  return spec;
}

}  // namespace flux_kontext
