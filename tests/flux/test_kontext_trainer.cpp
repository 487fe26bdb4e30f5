// The FluxKontext trainer end to end on a tiny pipeline, through the host: cache -> fit ->
// predict, exact resume from a checkpoint, and the errors a user meets first.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include "flux_kontext/tiny_pipeline.hpp"
#include "omni/image_io.hpp"
#include "omni/safetensors.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using omni::test::quote;
using omni::test::run_host;

// A seeded random RGB image of `size` x `size`.
void write_random_png(const fs::path& file, int size, int seed) {
  omni::Image image;
  image.width = size;
  image.height = size;
  image.channels = 3;
  at::Tensor pixels = at::randint(0, 256, {size * size * 3},
                                  at::make_generator<at::CPUGeneratorImpl>(seed), at::kByte);
  image.pixels.assign(pixels.data_ptr<std::uint8_t>(), pixels.data_ptr<std::uint8_t>() + pixels.numel());
  fs::create_directories(file.parent_path());
  omni::write_png(file, image);
}

// A tiny pipeline, a two-sample dataset and a config training 6 steps with checkpoints at
// 3 and 6; `extra` is appended to the config.
struct TrainingSetup {
  omni::test::TempDir dir;
  fs::path config;

  explicit TrainingSetup(const std::string& extra = "", int samples = 2) {
    flux_kontext::write_tiny_kontext_pipeline(dir.path() / "model", 3);
    for (int i = 0; i < samples; ++i) {
      const std::string stem = "sample" + std::to_string(i);
      write_random_png(dir.path() / "data" / "training_images" / (stem + ".png"), 32, 10 + i);
      write_random_png(dir.path() / "data" / "control_images" / (stem + ".png"), 32, 20 + i);
      dir.write("data/training_images/" + stem + ".txt", "make it brighter " + stem);
    }
    write_random_png(dir.path() / "input.png", 40, 99);
    const std::string root = dir.path().string();
    config = dir.write("config.yaml", R"(trainer: FluxKontext
threads: 2
model:
  pretrained_model_name_or_path: )" + root + R"(/model
  lora: {r: 4, lora_alpha: 4, init_lora_weights: gaussian}
data:
  init_args:
    dataset_path: )" + root + R"(/data
    caption_dropout_rate: 0.3
    processor:
      init_args: {process_type: center_crop, target_size: [32, 32]}
  batch_size: 1
cache:
  cache_dir: )" + root + R"(/cache
logging:
  output_dir: )" + root + R"(/output
optimizer:
  init_args: {lr: 0.001}
train:
  max_train_steps: 6
  checkpointing_steps: 3
  gradient_accumulation_steps: 2
  mixed_precision: "no"
  gradient_checkpointing: false
  seed: 7
predict:
  num_inference_steps: 2
  samples:
    - {prompt: "make it brighter", images: [)" + root + R"(/input.png], height: 32, width: 32,
       output: out.png}
)" + extra);
  }

  fs::path output() const { return dir.path() / "output"; }
  // The single run folder under output/.
  fs::path run_folder() const {
    std::vector<fs::path> runs;
    for (const auto& entry : fs::directory_iterator(output())) {
      if (entry.path().filename().string().rfind("run-", 0) == 0) runs.push_back(entry.path());
    }
    REQUIRE(runs.size() == 1);
    return runs.front();
  }
};

omni::NamedTensors read_all(const fs::path& file) {
  auto source = omni::SafetensorsFile::open(file);
  omni::NamedTensors tensors;
  for (const std::string& name : source->names()) tensors.emplace_back(name, source->tensor(name).clone());
  return tensors;
}

bool identical(const omni::NamedTensors& a, const omni::NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || !at::equal(a[i].second, b[i].second)) return false;
  }
  return true;
}

std::vector<double> losses(const fs::path& metrics) {
  std::vector<double> values;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    values.push_back(nlohmann::json::parse(line).at("loss").get<double>());
  }
  return values;
}

}  // namespace

TEST_SUITE("kontext_trainer") {
  TEST_CASE("cache, fit and predict run end to end and a resumed run matches an uninterrupted one") {
    TrainingSetup setup;
    auto result = run_host("run " + quote(setup.config.string()));
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    const fs::path run = setup.run_folder();
    CHECK(fs::exists(run / "checkpoints" / "checkpoint-3" / "COMPLETE"));
    CHECK(fs::exists(run / "checkpoints" / "checkpoint-6" / "COMPLETE"));
    CHECK(fs::exists(run / "metrics.jsonl"));
    CHECK(losses(run / "metrics.jsonl").size() == 6);
    CHECK_FALSE(fs::is_empty(run / "tensorboard"));
    const fs::path lora = run / "pytorch_lora_weights.safetensors";
    REQUIRE(fs::exists(lora));
    auto lora_file = omni::SafetensorsFile::open(lora);
    CHECK(lora_file->contains("transformer.transformer_blocks.0.attn.to_q.lora_A.weight"));
    CHECK(lora_file->metadata().count("lora_adapter_metadata") == 1);
    omni::Image prediction = omni::read_image(setup.output() / "predictions" / "out.png");
    CHECK(prediction.width == 32);
    CHECK(prediction.height == 32);

    // Resume from step 3: the same LoRA, the same losses for steps 4-6.
    const omni::NamedTensors uninterrupted = read_all(lora);
    const std::vector<double> first_losses = losses(run / "metrics.jsonl");
    fs::remove(run / "metrics.jsonl");
    result = run_host("run " + quote(setup.config.string()) + " --mode fit --resume " +
                      quote((run / "checkpoints" / "checkpoint-3").string()));
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(identical(read_all(lora), uninterrupted));
    const std::vector<double> resumed_losses = losses(run / "metrics.jsonl");
    REQUIRE(resumed_losses.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) CHECK(resumed_losses[i] == first_losses[i + 3]);

    // The cache is reused as long as nothing changed; a changed prompt recomputes one entry.
    result = run_host("run " + quote(setup.config.string()) + " --mode cache");
    CHECK(result.output.find("all 2 samples are cached") != std::string::npos);
    setup.dir.write("data/training_images/sample1.txt", "another prompt");
    result = run_host("run " + quote(setup.config.string()) + " --mode cache");
    CAPTURE(result.output);
    CHECK(result.output.find("1 of 2 samples to compute") != std::string::npos);
  }

  TEST_CASE("the same seed and config give bit-identical LoRA weights; loss goes down") {
    TrainingSetup first("", 1);
    TrainingSetup second("", 1);
    for (TrainingSetup* setup : {&first, &second}) {
      auto result = run_host("run " + quote(setup->config.string()) +
                             " --mode fit --set train.max_train_steps=40 --set "
                             "train.checkpointing_steps=100 --set optimizer.init_args.lr=0.01 "
                             "--set data.init_args.caption_dropout_rate=0");
      CAPTURE(result.output);
      REQUIRE(result.exit_code == 0);
    }
    const auto lora = [](const TrainingSetup& setup) {
      return read_all(setup.run_folder() / "pytorch_lora_weights.safetensors");
    };
    CHECK(identical(lora(first), lora(second)));
    std::vector<double> values = losses(first.run_folder() / "metrics.jsonl");
    REQUIRE(values.size() == 40);
    double early = 0, late = 0;
    for (int i = 0; i < 10; ++i) {
      early += values[static_cast<std::size_t>(i)];
      late += values[values.size() - 1 - static_cast<std::size_t>(i)];
    }
    CAPTURE(early);
    CAPTURE(late);
    CHECK(late < early);
  }

  TEST_CASE("bad inputs stop the run with a clear message") {
    TrainingSetup setup;
    SUBCASE("an image smaller than one latent patch") {
      write_random_png(setup.dir.path() / "data" / "control_images" / "sample0.png", 8, 1);
      auto result = run_host("run " + quote(setup.config.string()) + " --mode cache");
      CHECK(result.exit_code != 0);
      CHECK(result.output.find("smaller than one latent patch") != std::string::npos);
      CHECK(result.output.find("sample0") != std::string::npos);
    }
    SUBCASE("a missing prompt file") {
      fs::remove(setup.dir.path() / "data" / "training_images" / "sample1.txt");
      auto result = run_host("run " + quote(setup.config.string()) + " --mode cache");
      CHECK(result.exit_code != 0);
      CHECK(result.output.find("sample1.txt") != std::string::npos);
    }
    SUBCASE("a truncated image") {
      const fs::path file = setup.dir.path() / "data" / "training_images" / "sample0.png";
      fs::resize_file(file, fs::file_size(file) / 2);
      auto result = run_host("run " + quote(setup.config.string()) + " --mode cache");
      CHECK(result.exit_code != 0);
      CHECK(result.output.find("sample0.png") != std::string::npos);
    }
    SUBCASE("an incomplete checkpoint") {
      fs::create_directories(setup.dir.path() / "broken-checkpoint");
      setup.dir.write("broken-checkpoint/trainer_state.json", "{}");
      auto result = run_host("run " + quote(setup.config.string()) + " --mode fit --resume " +
                             quote((setup.dir.path() / "broken-checkpoint").string()));
      CHECK(result.exit_code != 0);
      CHECK(result.output.find("not a complete checkpoint") != std::string::npos);
    }
    SUBCASE("resume latest without any checkpoint") {
      auto result = run_host("run " + quote(setup.config.string()) + " --mode fit --resume latest");
      CHECK(result.exit_code != 0);
      CHECK(result.output.find("no complete checkpoint") != std::string::npos);
    }
  }
}
