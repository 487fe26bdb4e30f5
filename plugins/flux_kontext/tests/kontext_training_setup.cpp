// The tiny training setup shared by the trainer's end-to-end suites.
#include "kontext_training_setup.hpp"

#include <fstream>

#include <doctest/doctest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include "flux_kontext/quickstart/tiny_pipeline.hpp"
#include "omni/image_io.hpp"

namespace flux_test {

namespace fs = std::filesystem;

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

TrainingSetup::TrainingSetup(const std::string& extra, int samples) {
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

fs::path TrainingSetup::output() const { return dir.path() / "output"; }
fs::path TrainingSetup::run_folder() const {
  std::vector<fs::path> runs;
  for (const auto& entry : fs::directory_iterator(output())) {
    if (entry.path().filename().string().rfind("run-", 0) == 0) runs.push_back(entry.path());
  }
  REQUIRE(runs.size() == 1);
  return runs.front();
}

}  // namespace flux_test
