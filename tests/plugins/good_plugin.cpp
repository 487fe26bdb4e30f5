// A well-behaved plugin: a trainer that records its stages in a file, a prompt enhancer and
// a command, so the tests can drive the host end to end without any model.
#include <fstream>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/config.hpp"
#include "omni/error.hpp"
#include "omni/plugin_api.hpp"
#include "omni/prompt_enhancer.hpp"
#include "omni/trainer.hpp"

namespace {

struct RecorderOptions {
  std::string output;
  std::string message;
};

RecorderOptions parse_options(const omni::ConfigView& root) {
  omni::ConfigView section = root.child("test");
  RecorderOptions options;
  options.output = section.get<std::string>("output");
  options.message = section.get<std::string>("message", "hello");
  section.get_device("device", "cpu");
  return options;
}

class RecorderTrainer final : public omni::Trainer {
 public:
  explicit RecorderTrainer(RecorderOptions options) : options_(std::move(options)) {}
  void cache(const omni::StageContext& context) override { record("cache", context); }
  void fit(const omni::StageContext& context) override { record("fit", context); }
  void predict(const omni::StageContext& context) override { record("predict", context); }

 private:
  void record(const char* stage, const omni::StageContext& context) {
    if (options_.message == "torch-error") at::ones({2}).view({3});  // a LibTorch error
    if (options_.message == "omni-error") throw omni::Error("the recorder was told to fail");
    std::ofstream(options_.output, std::ios::app)
        << fmt::format("{} {} resume={}\n", stage, options_.message,
                       context.resume.value_or("none"));
  }
  RecorderOptions options_;
};

class UppercaseEnhancer final : public omni::PromptEnhancer {
 public:
  std::string enhance(const omni::EnhanceRequest& request) override {
    std::string text = request.instruction;
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return fmt::format("{} ({} images)", text, request.images.size());
  }
  std::string identity() const override { return "test_uppercase"; }
};

void register_good(omni::Registrar& registrar) {
  registrar.add_trainer({"TestRecorder", "records the stages it runs",
                         [](const omni::ConfigView& root, const omni::ComponentProvider&) {
                           parse_options(root);
                         },
                         [](const omni::ConfigView& root, const omni::ComponentProvider&) {
                           return std::make_unique<RecorderTrainer>(parse_options(root));
                         }});
  registrar.add_prompt_enhancer(
      {"test_uppercase", "upper-cases the instruction",
       [](const omni::ConfigView&, const omni::ComponentProvider&) {},
       [](const omni::ConfigView&, const omni::ComponentProvider&) {
         return std::make_unique<UppercaseEnhancer>();
       }});
  registrar.add_command({"test hello", "prints its arguments",
                         [](const std::vector<std::string>& arguments) {
                           fmt::print("hello");
                           for (const auto& argument : arguments) fmt::print(" {}", argument);
                           fmt::print("\n");
                           return 0;
                         }});
}

}  // namespace

OMNI_PLUGIN("test_good", "1.2.3", register_good)
