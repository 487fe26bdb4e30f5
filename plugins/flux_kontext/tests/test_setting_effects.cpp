// Every setting does what it says: each test changes one setting and checks that what it
// decides (the trained LoRA, the prediction, the files kept, the processed images) changes,
// so a setting that is read and then ignored fails here. tests/setting_evidence.txt names,
// for every key the schemas read, the test that shows its effect (or its warning, or its
// refusal); the schema walk at the end of this file holds the two together.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <ATen/ATen.h>

#include "flux_kontext/data/sample_preprocessing.hpp"
#include "flux_kontext/trainer/trainer_config.hpp"
#include "kontext_training_setup.hpp"
#include "omni/config.hpp"
#include "omni/image_io.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using flux_test::identical;
using flux_test::read_all;
using flux_test::TrainingSetup;
using omni::test::quote;
using omni::test::run_host;

// The processor settings of a config with `init_args` (YAML flow mapping) as the
// data.init_args.processor.init_args.
flux_kontext::ProcessorConfig processor_with(const std::string& init_args) {
  omni::ConfigDocument document = omni::ConfigDocument::from_string(
      "trainer: FluxKontext\nmodel: {pretrained_model_name_or_path: /m}\n"
      "data: {init_args: {processor: {init_args: " + init_args + "}}}\n",
      "cfg.yaml");
  document.root().get<std::string>("trainer");
  return flux_kontext::parse_trainer_config(document.root()).data.processor;
}

std::string describe(const flux_kontext::SampleSizes& sizes) {
  std::ostringstream out;
  out << sizes.target.width << "x" << sizes.target.height;
  for (const auto& control : sizes.controls) out << " " << control.width << "x" << control.height;
  return out.str();
}

// Planned sizes for a 640x320 target with a 640x320 and a 160x480 control.
std::string planned(const std::string& init_args) {
  return describe(flux_kontext::plan_sample_sizes(processor_with(init_args), "s",
                                                  omni::ImageSize{640, 320},
                                                  {{640, 320}, {160, 480}}));
}


// A training run of the tiny setup: 2 steps of 2 micro-batches over 2 samples, with masks
// beside the targets (read only with data.init_args.use_edit_mask).
class TrainingRuns {
 public:
  TrainingRuns() : setup_("", 2) {
    for (int i = 0; i < 2; ++i) {
      flux_test::write_random_png(setup_.dir.path() / "data" / "training_images" /
                                      ("sample" + std::to_string(i) + "_mask.png"),
                                  32, 50 + i);
    }
  }

  // The LoRA that fit trains with these extra `--set` arguments.
  omni::NamedTensors lora(const std::string& sets) {
    auto known = loras_.find(sets);
    if (known != loras_.end()) return known->second;
    fs::remove_all(setup_.output());
    const auto result = run_host("run " + quote(setup_.config.string()) +
                                 " --mode fit --set train.max_train_steps=2"
                                 " --set train.checkpointing_steps=100"
                                 " --set data.init_args.caption_dropout_rate=0" + sets);
    CAPTURE(sets);
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    omni::NamedTensors trained = read_all(setup_.run_folder() / "pytorch_lora_weights.safetensors");
    loras_.emplace(sets, trained);
    return trained;
  }

  const fs::path& folder() const { return setup_.dir.path(); }
  // The LoRA file of the latest run (the next lora() call replaces it).
  fs::path last_lora_file() const {
    return setup_.run_folder() / "pytorch_lora_weights.safetensors";
  }

 private:
  TrainingSetup setup_;
  std::map<std::string, omni::NamedTensors> loras_;
};

std::string sets(std::initializer_list<const char*> assignments) {
  std::string out;
  for (const char* assignment : assignments) out += std::string(" --set ") + quote(assignment);
  return out;
}

// The keys `omnihost validate --list-keys` reports for `config` with `arguments`.
std::set<std::string> keys_read(const std::string& config, const std::string& arguments) {
  const auto result = omni::test::run_shell(
      quote(omni::test::host_exe().string()) + " validate --allow-missing-devices --list-keys " +
      quote((omni::test::source_dir() / config).string()) + arguments);
  CAPTURE(config);
  CAPTURE(arguments);
  CAPTURE(result.output);
  REQUIRE(result.exit_code == 0);
  std::set<std::string> keys;
  std::istringstream lines(result.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("warning: ", 0) != 0) keys.insert(line);  // warnings come on stderr
  }
  return keys;
}

// The doctest case names of every test source of the repository.
std::set<std::string> test_case_names() {
  std::set<std::string> names;
  const std::regex test_case(R"re(TEST_CASE\("((?:[^"\\]|\\.)*)"\))re");
  for (const fs::path folder : {omni::test::source_dir() / "tests", omni::test::source_dir() / "plugins"}) {
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
      if (entry.path().extension() != ".cpp") continue;
      const std::string text = omni::test::read_file(entry.path());
      for (std::sregex_iterator it(text.begin(), text.end(), test_case), end; it != end; ++it) {
        names.insert((*it)[1].str());
      }
    }
  }
  return names;
}

}  // namespace

TEST_SUITE("setting_effects") {
  TEST_CASE("every data.processor setting decides the planned sizes or the pixels") {
    // Without settings: the target snapped to 16 px; each control on the target's pixel
    // count with its own aspect ratio (1:3 for the second).
    CHECK(planned("{}") == "640x320 640x320 256x784");
    CHECK(planned("{target_size: [64, 128]}") == "128x64 128x64 48x144");  // [H, W]
    CHECK(planned("{target_size: [64, 128], controls_size: [[32, 32], [48, 16]]}") ==
          "128x64 32x32 16x48");
    CHECK(planned("{target_pixels: 8192}") == "128x64 128x64 48x144");
    CHECK(planned("{target_pixels: 8192, controls_pixels: [2048, 1024]}") ==
          "128x64 64x32 16x48");
    // The budget nearest the target's 204800 pixels.
    CHECK(planned("{multi_resolutions: [1024, 8192, 200000]}") == "624x304 608x304 240x752");
    CHECK(planned("{multi_resolutions: [8192]}") == "128x64 128x64 48x144");
    // A 4:1 panorama gets a bucket of at most max_aspect_ratio (3 by default); the crop cuts
    // the rest.
    const auto panorama = [](const std::string& init_args) {
      return describe(flux_kontext::plan_sample_sizes(processor_with(init_args), "s",
                                                      omni::ImageSize{800, 200}, {}));
    };
    CHECK(panorama("{target_pixels: 8192, max_aspect_ratio: 10}") == "176x32");
    CHECK(panorama("{target_pixels: 8192}") == "144x48");
    CHECK(panorama("{target_pixels: 8192, max_aspect_ratio: 1.5}") == "96x64");

    // process_type and resize_mode decide the pixels.
    omni::test::TempDir dir;
    const fs::path image = dir.path() / "wide.png";
    omni::test::write_noise_png(image, 48, 32, 3);
    const auto pixels = [&](const std::string& init_args) {
      return flux_kontext::load_processed_image(image, {16, 16}, processor_with(init_args));
    };
    const at::Tensor crop = pixels("{process_type: center_crop}");
    CHECK_FALSE(at::equal(crop, pixels("{process_type: resize}")));
    CHECK_FALSE(at::equal(crop, pixels("{process_type: center_padding}")));
    CHECK_FALSE(at::equal(pixels("{process_type: center_padding}"),
                          pixels("{process_type: right_padding}")));
    CHECK_FALSE(at::equal(crop, pixels("{process_type: center_crop, resize_mode: nearest}")));
  }

  TEST_CASE("every training setting changes the trained LoRA") {
    TrainingRuns runs;
    struct Case {
      const char* key;
      std::string base;     // --set arguments of the run to compare with
      std::string changed;  // the same plus the setting
    };
    // Prodigy's estimate of d first moves the weights at the third step.
    const std::string prodigy = sets({"optimizer.class_path=Prodigy", "optimizer.init_args.lr=1",
                                      "train.max_train_steps=4"});
    const std::string masked = sets({"data.init_args.use_edit_mask=true"});
    const std::string mask_loss = masked + sets({"loss.mask_loss=true"});
    const std::string mask_edit = masked + sets({"loss.class_path=MaskEditLoss"});
    const std::string attention = masked + sets({"loss.class_path=AttentionMaskMseLoss"});
    const std::vector<Case> cases = {
        {"train.seed", "", sets({"train.seed=8"})},
        {"train.max_grad_norm", "", sets({"train.max_grad_norm=0.000001"})},
        {"train.gradient_accumulation_steps", "", sets({"train.gradient_accumulation_steps=1"})},
        {"train.guidance", "", sets({"train.guidance=4"})},
        {"train.shift_timesteps", "", sets({"train.shift_timesteps=true"})},
        {"train.timestep_sampling", "", sets({"train.timestep_sampling=logit_normal"})},
        {"train.logit_mean", sets({"train.timestep_sampling=logit_normal"}),
         sets({"train.timestep_sampling=logit_normal", "train.logit_mean=1"})},
        {"train.logit_std", sets({"train.timestep_sampling=logit_normal"}),
         sets({"train.timestep_sampling=logit_normal", "train.logit_std=3"})},
        {"train.sigmoid_scale", sets({"train.timestep_sampling=sigmoid"}),
         sets({"train.timestep_sampling=sigmoid", "train.sigmoid_scale=3"})},
        {"data.batch_size", "", sets({"data.batch_size=2"})},
        // One sample per step: the order of the two samples is the order of the steps.
        {"data.shuffle", sets({"train.gradient_accumulation_steps=1"}),
         sets({"train.gradient_accumulation_steps=1", "data.shuffle=false"})},
        {"optimizer.class_path", "", sets({"optimizer.class_path=Adafactor"})},
        {"optimizer.init_args.lr", "", sets({"optimizer.init_args.lr=0.01"})},
        {"optimizer.init_args.betas", "", sets({"optimizer.init_args.betas=[0.5, 0.9]"})},
        {"optimizer.init_args.eps", "", sets({"optimizer.init_args.eps=0.001"})},
        {"optimizer.init_args.weight_decay", "", sets({"optimizer.init_args.weight_decay=0.5"})},
        {"optimizer.init_args.d_coef", prodigy, prodigy + sets({"optimizer.init_args.d_coef=3"})},
        {"optimizer.init_args.use_bias_correction", prodigy,
         prodigy + sets({"optimizer.init_args.use_bias_correction=true"})},
        // The safeguard weighs d's estimate by lr, so it shows only at an lr other than 1.
        // d_coef lifts the estimate above d0 within the few steps, where it shows.
        {"optimizer.init_args.safeguard_warmup",
         prodigy + sets({"optimizer.init_args.lr=0.5", "optimizer.init_args.d_coef=1000"}),
         prodigy + sets({"optimizer.init_args.lr=0.5", "optimizer.init_args.d_coef=1000",
                         "optimizer.init_args.safeguard_warmup=true"})},
        {"lr_scheduler.scheduler_type", "", sets({"lr_scheduler.scheduler_type=linear"})},
        {"lr_scheduler.warmup_steps", sets({"lr_scheduler.scheduler_type=constant_with_warmup"}),
         sets({"lr_scheduler.scheduler_type=constant_with_warmup", "lr_scheduler.warmup_steps=2"})},
        {"lr_scheduler.num_cycles", sets({"lr_scheduler.scheduler_type=cosine_with_restarts"}),
         sets({"lr_scheduler.scheduler_type=cosine_with_restarts", "lr_scheduler.num_cycles=2"})},
        {"lr_scheduler.power", sets({"lr_scheduler.scheduler_type=polynomial"}),
         sets({"lr_scheduler.scheduler_type=polynomial", "lr_scheduler.power=3"})},
        {"model.lora.r", "", sets({"model.lora.r=2"})},
        {"model.lora.lora_alpha", "", sets({"model.lora.lora_alpha=8"})},
        {"model.lora.init_lora_weights", "", sets({"model.lora.init_lora_weights=zero"})},
        {"model.lora.lora_dropout", "", sets({"model.lora.lora_dropout=0.5"})},
        {"model.lora.target_modules", "", sets({"model.lora.target_modules=[to_q]"})},
        {"loss.mask_loss", masked, mask_loss},
        {"loss.foreground_weight", mask_loss, mask_loss + sets({"loss.foreground_weight=5"})},
        {"loss.forground_weight", mask_loss, mask_loss + sets({"loss.forground_weight=5"})},
        {"loss.background_weight", mask_loss, mask_loss + sets({"loss.background_weight=0.25"})},
        {"loss.class_path", masked, mask_edit},
        {"loss.init_args.foreground_weight", mask_edit,
         mask_edit + sets({"loss.init_args.foreground_weight=5"})},
        {"loss.init_args.forground_weight", mask_edit,
         mask_edit + sets({"loss.init_args.forground_weight=5"})},
        {"loss.init_args.background_weight", mask_edit,
         mask_edit + sets({"loss.init_args.background_weight=0.25"})},
        {"loss.init_args.eps", attention, attention + sets({"loss.init_args.eps=0.5"})},
        {"loss.init_args.reduction", attention, attention + sets({"loss.init_args.reduction=sum"})},
        // Which embeddings a dropped caption replaces by the empty prompt's (both by default).
        {"cache.prompt_empty_drop_keys", sets({"data.init_args.caption_dropout_rate=1"}),
         sets({"data.init_args.caption_dropout_rate=1", "cache.prompt_empty_drop_keys=[prompt_embeds]"})},
    };
    for (const Case& item : cases) {
      CAPTURE(std::string(item.key));
      CHECK_FALSE(identical(runs.lora(item.base), runs.lora(item.changed)));
    }
    // model.lora.pretrained_weight: training starts from that LoRA instead of a random one.
    runs.lora(sets({"train.seed=9"}));
    const fs::path start = runs.folder() / "start.safetensors";
    fs::copy_file(runs.last_lora_file(), start);
    CHECK_FALSE(identical(runs.lora(""),
                          runs.lora(" --set model.lora.pretrained_weight=" + quote(start.string()))));
  }

  TEST_CASE("every predict setting changes the prediction") {
    TrainingSetup setup("", 1);
    const std::string run = "run " + quote(setup.config.string());
    const std::string fit = run + " --mode fit --set train.max_train_steps=4" +
                            sets({"train.checkpointing_steps=100", "optimizer.init_args.lr=0.05",
                                  "train.gradient_accumulation_steps=1"});
    auto result = run_host(fit + " --set train.seed=3");
    REQUIRE_MESSAGE(result.exit_code == 0, result.output);
    const fs::path other_lora = setup.dir.path() / "other.safetensors";
    fs::copy_file(setup.run_folder() / "pytorch_lora_weights.safetensors", other_lora);
    fs::remove_all(setup.output());
    result = run_host(fit);
    REQUIRE_MESSAGE(result.exit_code == 0, result.output);

    const std::string root = setup.dir.path().string();
    flux_test::write_random_png(setup.dir.path() / "other_input.png", 40, 98);
    // predict.samples with one sample; `fields` ("key: value") replace or add to its defaults.
    const auto sample = [&](std::map<std::string, std::string> fields) {
      std::map<std::string, std::string> item = {
          {"prompt", "make it brighter"}, {"images", "[" + root + "/input.png]"},
          {"height", "32"}, {"width", "32"}, {"output", "out.png"}};
      for (const auto& [key, value] : fields) item[key] = value;
      std::string text = "predict.samples=[{";
      for (const auto& [key, value] : item) {
        text += (text.back() == '{' ? "" : ", ") + key + ": " + value;
      }
      return sets({(text + "}]").c_str()});
    };
    const auto predict = [&](const std::string& arguments, const fs::path& file) {
      fs::remove_all(setup.output() / "predictions");
      const auto outcome = run_host(run + " --mode predict" + arguments);
      CAPTURE(arguments);
      CAPTURE(outcome.output);
      REQUIRE(outcome.exit_code == 0);
      REQUIRE(fs::exists(file));
      return omni::test::read_file(file);
    };
    const fs::path out = setup.output() / "predictions" / "out.png";
    const std::string base = predict(sample({}), out);
    CHECK(predict(sample({}), out) == base);  // deterministic: a difference below is the setting's
    struct Case {
      const char* key;
      std::string base_arguments;
      std::string changed;
    };
    const std::string cfg = sample({{"negative_prompt", "noisy"}}) + sets({"predict.true_cfg_scale=3"});
    const std::vector<Case> cases = {
        {"predict.seed", sample({}), sample({}) + sets({"predict.seed=5"})},
        {"predict.num_inference_steps", sample({}),
         sample({}) + sets({"predict.num_inference_steps=3"})},
        {"predict.guidance_scale", sample({}), sample({}) + sets({"predict.guidance_scale=6"})},
        {"predict.true_cfg_scale", sample({{"negative_prompt", "noisy"}}), cfg},
        {"predict.samples[].negative_prompt", cfg,
         sample({{"negative_prompt", "sharp"}}) + sets({"predict.true_cfg_scale=3"})},
        {"predict.samples[].prompt", sample({}), sample({{"prompt", "make it darker"}})},
        {"predict.samples[].images", sample({}), sample({{"images", "[" + root + "/other_input.png]"}})},
        {"predict.lora_scale", sample({}), sample({}) + sets({"predict.lora_scale=0.25"})},
        {"predict.lora_path", sample({}),
         sample({}) + sets({("predict.lora_path=" + other_lora.string()).c_str()})},
    };
    for (const Case& item : cases) {
      CAPTURE(std::string(item.key));
      CHECK(predict(item.base_arguments, out) != predict(item.changed, out));
    }
    // Where and how big.
    CHECK_FALSE(predict(sample({{"output", "renamed.png"}}), out.parent_path() / "renamed.png").empty());
    const fs::path elsewhere = setup.dir.path() / "elsewhere";
    CHECK_FALSE(predict(sample({}) + sets({("predict.output_dir=" + elsewhere.string()).c_str()}),
                        elsewhere / "out.png")
                    .empty());
    predict(sample({{"height", "48"}, {"width", "64"}}), out);
    const omni::Image resized = omni::read_image(out);
    CHECK(resized.width == 64);
    CHECK(resized.height == 48);
  }

  TEST_CASE("a validation sample's own guidance_scale changes its picture") {
    TrainingSetup setup("", 1);
    const std::string root = setup.dir.path().string();
    const auto grid = [&](const std::string& guidance) {
      fs::remove_all(setup.output());
      const auto result = run_host(
          "run " + quote(setup.config.string()) + " --mode fit" +
          sets({"train.max_train_steps=2", "validation.enabled=true", "validation.steps=2",
                ("validation.samples=[{prompt: p, images: [" + root + "/input.png], height: 32, "
                 "width: 32, num_inference_steps: 2, guidance_scale: " + guidance + "}]").c_str()}));
      CAPTURE(result.output);
      REQUIRE(result.exit_code == 0);
      return omni::test::read_file(setup.run_folder() / "validation" / "step-2.png");
    };
    CHECK(grid("1") != grid("6"));
  }

  TEST_CASE("cache.cache_dir is where entries go; cache.use_cache false keeps none") {
    TrainingSetup setup("", 1);
    const fs::path elsewhere = setup.dir.path() / "elsewhere";
    const auto fit = [&](const std::string& arguments) {
      const auto result = run_host("run " + quote(setup.config.string()) + " --mode fit" +
                                   sets({"train.max_train_steps=1"}) + arguments);
      CAPTURE(result.output);
      REQUIRE(result.exit_code == 0);
    };
    const auto entries = [](const fs::path& folder) {
      if (!fs::exists(folder)) return 0L;
      return static_cast<long>(std::distance(fs::recursive_directory_iterator(folder),
                                             fs::recursive_directory_iterator{}));
    };
    fit(sets({"cache.use_cache=false"}));
    CHECK(entries(setup.dir.path() / "cache") == 0);
    fit(sets({("cache.cache_dir=" + elsewhere.string()).c_str()}));
    CHECK(entries(elsewhere) > 0);
    CHECK(entries(setup.dir.path() / "cache") == 0);
  }

  TEST_CASE("model.revision picks the snapshot of a Hugging Face repo id") {
    TrainingSetup setup("", 1);
    // A hub cache holding the tiny pipeline as revision main of test/tiny-kontext.
    const fs::path hub = setup.dir.path() / "hub";
    const fs::path repo = hub / "models--test--tiny-kontext";
    fs::create_directories(repo / "refs");
    fs::create_directories(repo / "snapshots");
    setup.dir.write("hub/models--test--tiny-kontext/refs/main", "0123abcd");
    fs::rename(setup.dir.path() / "model", repo / "snapshots" / "0123abcd");
    const std::string cache = "HF_HUB_CACHE=" + quote(hub.string()) + " " +
                              quote(omni::test::host_exe().string()) + " run " +
                              quote(setup.config.string()) + " --mode cache" +
                              sets({"model.pretrained_model_name_or_path=test/tiny-kontext"});
    auto result = omni::test::run_shell("env -u OMNI_PLUGIN_PATH " + cache);
    CAPTURE(result.output);
    CHECK(result.exit_code == 0);
    result = omni::test::run_shell("env -u OMNI_PLUGIN_PATH " + cache + sets({"model.revision=v2"}));
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("v2") != std::string::npos);
  }

  TEST_CASE("data.init_args.allow_paths_outside_dataset lets a manifest name files elsewhere") {
    TrainingSetup setup("", 1);
    // A manifest in its own folder naming the setup's images, which lie outside that folder.
    const fs::path manifest = setup.dir.write(
        "manifests/train.csv",
        "path_target,path_control,prompt\n../data/training_images/sample0.png,"
        "../data/control_images/sample0.png,make it brighter\n");
    const std::string cache = "run " + quote(setup.config.string()) + " --mode cache" +
                              sets({("data.init_args.dataset_path=" + manifest.string()).c_str()});
    auto result = run_host(cache);
    CAPTURE(result.output);
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("is outside the manifest's folder") != std::string::npos);
    result = run_host(cache + sets({"data.init_args.allow_paths_outside_dataset=true"}));
    CHECK(result.exit_code == 0);
  }

  TEST_CASE("train.keep_last_n and checkpoints_total_limit keep that many checkpoints") {
    for (const char* key : {"train.keep_last_n", "train.checkpoints_total_limit"}) {
      CAPTURE(key);
      TrainingSetup setup("", 1);
      const auto result = run_host("run " + quote(setup.config.string()) + " --mode fit" +
                                   sets({"train.max_train_steps=4", "train.checkpointing_steps=1"}) +
                                   " --set " + key + "=2");
      CAPTURE(result.output);
      REQUIRE(result.exit_code == 0);
      std::set<std::string> kept;
      for (const auto& entry : fs::directory_iterator(setup.run_folder() / "checkpoints")) {
        kept.insert(entry.path().filename().string());
      }
      CHECK(kept == std::set<std::string>{"checkpoint-3", "checkpoint-4"});
    }
  }

  TEST_CASE("logging.report_to none writes no TensorBoard files, tensorboard does") {
    for (const char* report_to : {"tensorboard", "none"}) {
      CAPTURE(report_to);
      TrainingSetup setup("", 1);
      const auto result = run_host("run " + quote(setup.config.string()) + " --mode fit" +
                                   sets({"train.max_train_steps=1"}) +
                                   " --set logging.report_to=" + report_to);
      CAPTURE(result.output);
      REQUIRE(result.exit_code == 0);
      const fs::path events = setup.run_folder() / "tensorboard";
      const bool written = fs::exists(events) && !fs::is_empty(events);
      CHECK(written == (std::string(report_to) == "tensorboard"));
    }
  }

  TEST_CASE("every key the schemas read is documented and has evidence of its effect") {
    // The shipped configs, plus the settings that make a schema read keys it reads only in
    // some configurations (an optimizer's or a loss's own arguments, lists of samples).
    std::set<std::string> read;
    const std::vector<std::pair<std::string, std::string>> walks = {
        {"configs/quickstart.yaml", ""},
        {"configs/flux_kontext.yaml", ""},
        {"configs/dreamomni2.yaml", ""},
        {"configs/dreamomni2_release_example.yaml", ""},
        {"configs/quickstart.yaml", sets({"optimizer.class_path=Prodigy"})},
        {"configs/quickstart.yaml", sets({"optimizer.class_path=Adafactor"})},
        {"configs/quickstart.yaml", sets({"loss.class_path=AttentionMaskMseLoss",
                                          "data.init_args.use_edit_mask=true"})},
        {"configs/quickstart.yaml",
         sets({"model.pretrained_embeddings={vae: a, text_encoder: b, text_encoder_2: c}",
               "model.text_encoders={text_encoder: clip_text, text_encoder_2: t5_encoder}",
               "model.base_loras=[{path: a.safetensors}]",
               "validation.samples=[{prompt: p, images: [a.png]}]"})},
    };
    for (const auto& [config, arguments] : walks) read.merge(keys_read(config, arguments));
    // Leaves only: a section (a mapping or a list of mappings) is checked through its keys.
    std::set<std::string> leaves;
    for (const std::string& key : read) {
      const bool section = std::any_of(read.begin(), read.end(), [&](const std::string& other) {
        return other.rfind(key + ".", 0) == 0 || other.rfind(key + "[].", 0) == 0;
      });
      if (!section) leaves.insert(key);
    }
    REQUIRE(leaves.size() > 100);

    // tests/setting_evidence.txt: "key | kind | evidence", kinds:
    //   effect  - the named test fails when the setting is ignored
    //   warns   - accepted for upstream configs, without effect; the named test checks the warning
    //   refused - values other than the default are refused; the named test checks the message
    //   same-as - parsed and used by the same code as the named key (validation's data set)
    const fs::path evidence_file = omni::test::source_dir() / "tests" / "setting_evidence.txt";
    std::map<std::string, std::pair<std::string, std::string>> evidence;
    std::istringstream lines(omni::test::read_file(evidence_file));
    int line_number = 0;
    for (std::string line; std::getline(lines, line);) {
      ++line_number;
      if (line.empty() || line[0] == '#') continue;
      const std::regex row(R"(^(\S+)\s+\|\s+(effect|warns|refused|same-as)\s+\|\s+(.+)$)");
      std::smatch match;
      CAPTURE(line_number);
      CAPTURE(line);
      REQUIRE(std::regex_match(line, match, row));
      CHECK(evidence.emplace(match[1].str(), std::make_pair(match[2].str(), match[3].str())).second);
    }

    const std::set<std::string> names = test_case_names();
    // The words inside `code spans` of the reference: `lora.r`, `…resize_mode` and
    // `{prompt, images, height}` document r, resize_mode and height.
    std::set<std::string> documented;
    {
      const std::string reference = omni::test::read_file(omni::test::source_dir() / "docs" /
                                                          "config-reference.md");
      const std::regex span("`([^`]*)`"), word("[A-Za-z0-9_]+");
      for (std::sregex_iterator it(reference.begin(), reference.end(), span), end; it != end; ++it) {
        const std::string code = (*it)[1].str();
        for (std::sregex_iterator w(code.begin(), code.end(), word); w != end; ++w) {
          documented.insert(w->str());
        }
      }
    }
    for (const std::string& key : leaves) {
      CAPTURE(key);
      auto found = evidence.find(key);
      CHECK_MESSAGE(found != evidence.end(), "read by a schema, but not in setting_evidence.txt");
      if (found == evidence.end()) continue;
      const auto& [kind, what] = found->second;
      if (kind == "same-as") {
        auto target = evidence.find(what);
        CHECK_MESSAGE((target != evidence.end() && target->second.first != "same-as"),
                      "same-as names a key without evidence of its own: " << what);
      } else {
        CHECK_MESSAGE(names.count(what) == 1, "no TEST_CASE(\"" << what << "\")");
      }
      // Documented: the key's own name appears in the reference, in backticks.
      CHECK_MESSAGE(documented.count(key.substr(key.find_last_of('.') + 1)) == 1,
                    "not in docs/config-reference.md");
    }
    for (const auto& [key, unused] : evidence) {
      CAPTURE(key);
      CHECK_MESSAGE(leaves.count(key) == 1, "in setting_evidence.txt, but no schema reads it");
    }
  }
}
