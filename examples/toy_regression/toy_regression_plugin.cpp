// An example trainer plugin, built against the installed SDK only: it fits a line to noisy
// samples with LibTorch, honours --mode, and stops cleanly on Ctrl-C.
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "omni/config.hpp"
#include "omni/error.hpp"
#include "omni/plugin_api.hpp"
#include "omni/trainer.hpp"

namespace {

struct ToyOptions {
  int samples = 256;
  int steps = 200;
  double learning_rate = 0.1;
  double noise = 0.05;
  long seed = 7;
  std::filesystem::path output_dir;
};

ToyOptions parse_options(const omni::ConfigView& root) {
  omni::ConfigView toy = root.child("toy");
  ToyOptions options;
  options.samples = toy.get<int>("samples", options.samples);
  if (options.samples < 2) toy.fail("samples", "expected at least 2 samples");
  options.steps = toy.get<int>("steps", options.steps);
  if (options.steps < 1) toy.fail("steps", "expected at least 1 step");
  options.learning_rate = toy.get<double>("learning_rate", options.learning_rate);
  if (options.learning_rate <= 0) toy.fail("learning_rate", "expected a value > 0");
  options.noise = toy.get<double>("noise", options.noise);
  options.seed = toy.get<long>("seed", options.seed);
  options.output_dir = toy.get<std::filesystem::path>("output_dir");
  return options;
}

class ToyRegressionTrainer final : public omni::Trainer {
 public:
  explicit ToyRegressionTrainer(ToyOptions options) : options_(std::move(options)) {}

  void cache(const omni::StageContext&) override {
    std::cout << "toy_regression: nothing to cache (samples are generated)\n";
  }

  void fit(const omni::StageContext& context) override {
    torch::manual_seed(options_.seed);
    torch::Tensor x = torch::linspace(-1, 1, options_.samples).unsqueeze(1);
    torch::Tensor y = 3 * x - 2 + options_.noise * torch::randn_like(x);
    torch::nn::Linear line(1, 1);
    torch::optim::SGD optimizer(line->parameters(), options_.learning_rate);
    double loss_value = 0;
    for (int step = 1; step <= options_.steps; ++step) {
      if (context.stop_requested && context.stop_requested->load()) break;
      optimizer.zero_grad();
      torch::Tensor loss = torch::mse_loss(line->forward(x), y);
      loss.backward();
      optimizer.step();
      loss_value = loss.item<double>();
      if (step == 1 || step % 50 == 0 || step == options_.steps) {
        std::cout << "toy_regression: step " << step << "/" << options_.steps << "  loss "
                  << loss_value << "\n";
      }
    }
    std::filesystem::create_directories(options_.output_dir);
    const std::filesystem::path result = options_.output_dir / "line.txt";
    std::ofstream(result) << line->weight.item<double>() << " " << line->bias.item<double>()
                          << "\n";
    std::cout << "toy_regression: fitted y = " << line->weight.item<double>() << " x + "
              << line->bias.item<double>() << " (true: 3 x - 2), final loss " << loss_value
              << ", written to " << result.string() << "\n";
  }

  void predict(const omni::StageContext&) override {
    const std::filesystem::path result = options_.output_dir / "line.txt";
    std::ifstream input(result);
    double weight = 0, bias = 0;
    if (!(input >> weight >> bias)) {
      throw omni::Error(result.string() + ": no fitted line; run the fit stage first");
    }
    for (double x : {-1.0, 0.0, 1.0}) {
      std::cout << "toy_regression: predict x=" << x << " -> " << weight * x + bias << "\n";
    }
  }

 private:
  ToyOptions options_;
};

void register_toy_regression(omni::Registrar& registrar) {
  registrar.add_trainer(
      {"ToyRegression", "example: fits a line with LibTorch (out-of-tree plugin)",
       [](const omni::ConfigView& root, const omni::ComponentProvider&) { parse_options(root); },
       [](const omni::ConfigView& root, const omni::ComponentProvider&) {
         return std::make_unique<ToyRegressionTrainer>(parse_options(root));
       }});
}

}  // namespace

OMNI_PLUGIN("toy_regression", "1.0.0", register_toy_regression)
