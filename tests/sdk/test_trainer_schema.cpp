// The FluxKontext / DreamOmni2 config schema: upstream configs carry over, mistakes are
// caught at validation time.
#include <algorithm>

#include <doctest/doctest.h>

#include <ATen/ATen.h>

#include "dreamomni2/dreamomni2_trainer.hpp"
#include "flux_kontext/trainer/flux_kontext_trainer.hpp"
#include "flux_kontext/trainer/trainer_config.hpp"
#include "omni/config.hpp"

namespace {

// The upstream tool's FluxKontext test config, with a local dataset instead of a hub one.
const char* upstream_flux_kontext = R"(
model:
  pretrained_model_name_or_path: black-forest-labs/FLUX.1-Kontext-dev
  quantize: false
  lora: {r: 16, lora_alpha: 16, init_lora_weights: "gaussian", target_modules: ["to_k","to_q","to_v","to_out.0"], pretrained_weight: null, adapter_name: "lora_edit"}
data:
  class_path: qflux.data.dataset.ImageDataset
  init_args:
    dataset_path: [/data/face_seg]
    caption_dropout_rate: 0.1
    prompt_image_dropout_rate: 0.0
    use_edit_mask: true
    selected_control_indexes: [1]
    processor:
      class_path: qflux.data.preprocess.ImageProcessor
      init_args: {process_type: center_crop, resize_mode: bilinear, target_size: [832, 576], controls_size: [[832, 576]]}
  batch_size: 2
  num_workers: 2
  shuffle: true
validation:
  enabled: true
  steps: 100
  max_samples: 2
  seed: 42
  dataset: {class_path: qflux.data.dataset.ImageDataset, init_args: {dataset_path: [/data/face_seg_test], use_edit_mask: true}}
logging: {output_dir: /tmp/image_edit_lora/, report_to: "tensorboard", tracker_project_name: faceSegFluxKontextFp16}
optimizer:
  class_path: prodigyopt.Prodigy
  init_args: {lr: 1.0, use_bias_correction: True, safeguard_warmup: True, weight_decay: 0.01}
lr_scheduler: {scheduler_type: "cosine", warmup_steps: 50, num_cycles: 0.5, power: 1.0}
loss: {mask_loss: false, forground_weight: 2.0, background_weight: 1.0}
train:
  gradient_accumulation_steps: 1
  max_train_steps: 10000
  checkpointing_steps: 100
  max_grad_norm: 1.0
  mixed_precision: "bf16"
  gradient_checkpointing: False
  low_memory: True
  fit_device: {vae: cpu, text_encoder: cpu}
trainer: FluxKontext
cache:
  devices: {vae: cpu, text_encoder: cpu, text_encoder_2: cpu}
  cache_dir: ${logging.output_dir}/${logging.tracker_project_name}/cache
  use_cache: true
  prompt_empty_drop_keys: [prompt_embeds, pooled_prompt_embeds]
predict:
  devices: {vae: cpu, text_encoder: cpu, text_encoder_2: cpu, dit: cpu}
)";

flux_kontext::TrainerConfig parse(const std::string& yaml,
                                  const std::vector<std::string>& overrides = {}) {
  omni::ConfigDocument document = omni::ConfigDocument::from_string(yaml, "cfg.yaml");
  for (const auto& assignment : overrides) document.apply_override(assignment);
  document.resolve_references();
  omni::ConfigView root = document.root();
  root.get<std::string>("trainer");  // the host's key
  flux_kontext::TrainerConfig config = flux_kontext::parse_trainer_config(root);
  document.check_unknown_keys();
  return config;
}

// The warnings that parsing `yaml` leaves in its document.
std::vector<std::string> warnings_of(const std::string& yaml) {
  omni::ConfigDocument document = omni::ConfigDocument::from_string(yaml, "cfg.yaml");
  document.resolve_references();
  omni::ConfigView root = document.root();
  root.get<std::string>("trainer");
  flux_kontext::parse_trainer_config(root);
  return document.warnings();
}

}  // namespace

TEST_SUITE("trainer_schema") {
  TEST_CASE("keys kept only for upstream configs warn that they have no effect, once each") {
    std::vector<std::string> warnings = warnings_of(upstream_flux_kontext);
    const auto warned = [&](const std::string& key) {
      return std::count_if(warnings.begin(), warnings.end(), [&](const std::string& warning) {
        return warning.find(key + ": has no effect") != std::string::npos ||
               warning.find(key + ": names no tracker project") != std::string::npos;
      });
    };
    CAPTURE(warnings);
    CHECK(warned("model.lora.adapter_name") == 1);
    CHECK(warned("data.num_workers") == 1);
    CHECK(warned("train.low_memory") == 1);
    CHECK(warned("logging.tracker_project_name") == 1);
    // Not in that config: no warning; present: one.
    CHECK(warned("train.num_epochs") == 0);
    warnings = warnings_of(R"(trainer: FluxKontext
model: {pretrained_model_name_or_path: /m}
train: {num_epochs: 3, train_batch_size: 2}
)");
    CHECK(warned("train.num_epochs") == 1);
    CHECK(warned("train.train_batch_size") == 1);
    CHECK(warned("data.num_workers") == 0);

    // Upstream copies of cache settings, wandb's tags and notes, and data set settings that
    // validation has no use for.
    warnings = warnings_of(R"(trainer: FluxKontext
model: {pretrained_model_name_or_path: /m}
logging: {tags: [a, b], notes: first try}
data:
  init_args:
    cache_dir: /c
    use_cache: true
    prompt_empty_drop_keys: [prompt_embeds]
    processor: {init_args: {resize_controls_mask_to_image: true}}
validation:
  enabled: true
  dataset:
    batch_size: 2
    shuffle: false
    num_workers: 4
    init_args:
      dataset_path: /d
      caption_dropout_rate: 0.2
      cache_dir: /c
      use_cache: true
      prompt_empty_drop_keys: [prompt_embeds]
      processor: {init_args: {resize_controls_mask_to_image: true}}
  samples: [{prompt: p, images: [a.png], negative_prompt: blurry}]
)");
    for (const char* key :
         {"logging.tags", "logging.notes", "data.init_args.cache_dir", "data.init_args.use_cache",
          "data.init_args.prompt_empty_drop_keys",
          "data.init_args.processor.init_args.resize_controls_mask_to_image",
          "validation.dataset.batch_size", "validation.dataset.shuffle",
          "validation.dataset.num_workers", "validation.dataset.init_args.caption_dropout_rate",
          "validation.dataset.init_args.cache_dir", "validation.dataset.init_args.use_cache",
          "validation.dataset.init_args.prompt_empty_drop_keys",
          "validation.dataset.init_args.processor.init_args.resize_controls_mask_to_image",
          "validation.samples[0].negative_prompt"}) {
      CAPTURE(key);
      CHECK(warned(key) == 1);
    }
  }

  TEST_CASE("a data set or processor class other than upstream's is refused") {
    CHECK_NOTHROW(parse(upstream_flux_kontext, {"data.class_path=ImageDataset",
                                                "data.init_args.processor.class_path=ImageProcessor"}));
    for (const char* key : {"data.class_path", "data.init_args.processor.class_path",
                            "validation.dataset.class_path",
                            "validation.dataset.init_args.processor.class_path"}) {
      CAPTURE(key);
      CHECK_THROWS_WITH_AS(parse(upstream_flux_kontext, {std::string(key) + "=my.Dataset"}),
                           doctest::Contains((std::string(key) + ": unknown value 'my.Dataset'").c_str()),
                           omni::ConfigError);
    }
  }

  TEST_CASE("reference-image dropout is refused rather than ignored") {
    CHECK_THROWS_WITH_AS(parse(upstream_flux_kontext, {"data.init_args.prompt_image_dropout_rate=0.3"}),
                         doctest::Contains("prompt_image_dropout_rate: dropping the reference "
                                           "images is not supported"),
                         omni::ConfigError);
    CHECK_NOTHROW(parse(upstream_flux_kontext, {"data.init_args.prompt_image_dropout_rate=0"}));
  }

  TEST_CASE("the upstream example config carries over") {
    flux_kontext::TrainerConfig config = parse(upstream_flux_kontext);
    CHECK(config.model.lora.adapter_name == "lora_edit");
    CHECK(config.data.batch_size == 2);
    CHECK(config.data.caption_dropout_rate == doctest::Approx(0.1));
    CHECK((*config.data.processor.target_size == std::vector<int>{832, 576}));
    CHECK(config.optimizer.name == "Prodigy");
    CHECK(config.optimizer.use_bias_correction);
    CHECK(config.lr_scheduler.scheduler_type == "cosine");
    CHECK(config.loss.kind == "mse");
    CHECK(config.cache.cache_dir == "/tmp/image_edit_lora//faceSegFluxKontextFp16/cache");
    CHECK(*config.predict.devices.dit == "cpu");
    CHECK(config.train.gradient_accumulation_steps == 1);
    CHECK_FALSE(config.train.gradient_checkpointing);
  }

  TEST_CASE("defaults follow the upstream tool") {
    flux_kontext::TrainerConfig config =
        parse("trainer: FluxKontext\nmodel:\n  pretrained_model_name_or_path: /m\n");
    CHECK(config.model.lora.r == 16);
    CHECK((config.model.lora.target_modules ==
           std::vector<std::string>{"to_k", "to_q", "to_v", "to_out.0"}));
    CHECK(config.optimizer.name == "AdamW");
    CHECK(config.optimizer.lr == doctest::Approx(1e-4));
    CHECK(config.train.max_train_steps == 1000);
    CHECK(config.logging.output_dir == "./output");
  }

  TEST_CASE("mistakes are caught with their location") {
    CHECK_THROWS_WITH_AS(parse(upstream_flux_kontext, {"optimizer.class_path=bitsandbytes.optim.Adam8bit"}),
                         doctest::Contains("optimizer.class_path: unknown value "
                                           "'bitsandbytes.optim.Adam8bit'"),
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(parse(upstream_flux_kontext, {"model.lora.r=0"}),
                         "--set model.lora.r=0: model.lora.r: expected a rank > 0",
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(parse(upstream_flux_kontext, {"lr_scheduler.scheduler_type=step"}),
                         doctest::Contains("expected one of: constant, constant_with_warmup"),
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(parse(upstream_flux_kontext, {"train.mixed_precision=fp8"}),
                         doctest::Contains("train.mixed_precision: unknown value 'fp8'"),
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(
        parse(upstream_flux_kontext, {"data.init_args.processor.init_args.target_size=[832]"}),
        doctest::Contains("target_size: expected [height, width] with both > 0"),
        omni::ConfigError);
    CHECK_THROWS_WITH_AS(parse(upstream_flux_kontext, {"train.fit_device.dit=cuda:x"}),
                         doctest::Contains("train.fit_device.dit: invalid device 'cuda:x'"),
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(parse(upstream_flux_kontext, {"logging.sampling.enable=true"}),
                         doctest::Contains("unknown key 'logging.sampling'"), omni::ConfigError);
    CHECK_THROWS_WITH_AS(
        parse(std::string(upstream_flux_kontext) +
              "\n", {"data.init_args.dataset_path=[{repo_id: a/b, split: train}]"}),
        doctest::Contains("Hugging Face dataset entries"), omni::ConfigError);
    CHECK_THROWS_WITH_AS(parse(upstream_flux_kontext, {"model.quantize=true"}),
                         doctest::Contains("model.quantize: online fp8 quantization is not "
                                           "supported"),
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(
        parse(upstream_flux_kontext,
              {"validation.samples=[{prompt: p, images: [a.png], controls_size: [[32, 32]]}]"}),
        doctest::Contains("validation.samples[0].controls_size: is not supported"),
        omni::ConfigError);
  }

  TEST_CASE("a bad loss weight is reported under the key the user wrote") {
    CHECK_THROWS_WITH_AS(parse(upstream_flux_kontext, {"loss.forground_weight=-1"}),
                         "--set loss.forground_weight=-1: loss.forground_weight: expected a "
                         "weight >= 0",
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(
        parse(upstream_flux_kontext, {"loss.forground_weight=null", "loss.foreground_weight=-1"}),
        "--set loss.foreground_weight=-1: loss.foreground_weight: expected a weight >= 0",
        omni::ConfigError);
    CHECK_THROWS_WITH_AS(
        parse(upstream_flux_kontext, {"loss={class_path: MaskEditLoss, init_args: "
                                      "{foreground_weight: -2}}"}),
        doctest::Contains("loss.init_args.foreground_weight: expected a weight >= 0"),
        omni::ConfigError);
  }

  TEST_CASE("Kontext and DreamOmni2 position ids") {
    flux_kontext::TrainerConfig config =
        parse("trainer: FluxKontext\nmodel:\n  pretrained_model_name_or_path: /m\n");
    flux_kontext::FluxKontextTrainer kontext(config);
    dreamomni2::DreamOmni2Trainer dream(config);
    const flux_kontext::PackedGrid target{2, 3};
    const std::vector<flux_kontext::PackedGrid> controls{{2, 2}, {3, 2}, {1, 4}};

    at::Tensor kontext_ids = kontext.image_ids(target, controls);
    at::Tensor dream_ids = dream.image_ids(target, controls);
    REQUIRE(kontext_ids.sizes() == at::IntArrayRef({6 + 4 + 6 + 4, 3}));
    REQUIRE(dream_ids.sizes() == kontext_ids.sizes());
    // Target first, [0, row, col] in both.
    CHECK(at::equal(kontext_ids.slice(0, 0, 6), dream_ids.slice(0, 0, 6)));
    CHECK(dream_ids[5].equal(at::tensor({0.f, 1.f, 2.f})));

    // Every reference token, against the formula.
    std::int64_t row_index = 6, width_offset = 0;
    for (std::size_t i = 0; i < controls.size(); ++i) {
      for (std::int64_t r = 0; r < controls[i].rows; ++r) {
        for (std::int64_t c = 0; c < controls[i].cols; ++c, ++row_index) {
          CAPTURE(row_index);
          CHECK(kontext_ids[row_index].equal(at::tensor({1.f, float(r), float(c)})));
          CHECK(dream_ids[row_index].equal(
              at::tensor({float(i + 1), float(r), float(c + width_offset)})));
        }
      }
      width_offset += controls[i].cols;
    }
  }
}
