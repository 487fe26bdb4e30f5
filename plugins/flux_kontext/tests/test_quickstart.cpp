// The quickstart (configs/quickstart.yaml) at a reduced step count: it makes its own model
// and data set, runs cache -> fit -> predict, and writes every file of its report; the LoRA
// lowers the held-out loss. Also the pieces it is made of: init-model, init-data, the
// synthetic data set's exactness, and --resume latest.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "flux_kontext/quickstart/shapes_dataset.hpp"
#include "omni/image_io.hpp"
#include "omni/model_folder.hpp"
#include "test_support.hpp"

namespace {

using omni::test::read_file;

namespace fs = std::filesystem;
using omni::test::quote;
using omni::test::run_host;
using omni::test::run_shell;

// The quickstart config run from `folder` (its relative paths land there), shortened.
omni::test::CommandResult run_quickstart(const fs::path& folder, const std::string& extra) {
  const std::string config = (omni::test::source_dir() / "configs/quickstart.yaml").string();
  return run_shell("cd " + quote(folder.string()) + " && env -u OMNI_PLUGIN_PATH " +
                   quote(omni::test::host_exe().string()) + " run " + quote(config) + " --threads 2" + extra);
}

fs::path only_run_folder(const fs::path& output) {
  std::vector<fs::path> runs;
  for (const auto& entry : fs::directory_iterator(output)) {
    if (entry.path().filename().string().rfind("run-", 0) == 0) runs.push_back(entry.path());
  }
  REQUIRE(runs.size() == 1);
  return runs.front();
}

}  // namespace

TEST_SUITE("quickstart") {
  TEST_CASE("init-model writes a pipeline the loaders read, and refuses to overwrite") {
    omni::test::TempDir dir;
    const fs::path model = dir.path() / "model";
    auto result = run_host("init-model --preset tiny " + quote(model.string()));
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    const auto folder = omni::ModelFolder::open(model.string());
    for (const char* component : {"transformer", "vae", "text_encoder", "text_encoder_2",
                                  "tokenizer", "tokenizer_2", "scheduler"}) {
      CHECK(fs::is_directory(folder.component(component)));
    }
    result = run_host("init-model --preset tiny " + quote(model.string()));
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("already exists") != std::string::npos);
    result = run_host("init-model --preset huge " + quote((dir.path() / "other").string()));
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("unknown model preset 'huge'") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / "other"));
  }

  TEST_CASE("the shapes data set: the instruction names what the target shows") {
    omni::test::TempDir dir;
    flux_kontext::ShapesDatasetOptions options;
    options.samples = 3;
    options.shape_references = 2;
    options.seed = 11;
    flux_kontext::write_shapes_dataset(dir.path() / "a", options);
    flux_kontext::write_shapes_dataset(dir.path() / "b", options);
    for (int i = 0; i < 3; ++i) {
      const std::string stem = "000" + std::to_string(i);
      for (const std::string name : {"control/" + stem + ".png", "control/" + stem + "_control_1.png",
                                     "control/" + stem + "_control_2.png", "target/" + stem + ".png",
                                     "target/" + stem + ".txt"}) {
        CAPTURE(name);
        REQUIRE(fs::exists(dir.path() / "a" / name));
        CHECK(read_file(dir.path() / "a" / name) == read_file(dir.path() / "b" / name));  // same seed, same bytes
      }
      // The shape from image 2 sits in the corner the instruction names, in its colour.
      const std::string instruction = read_file(dir.path() / "a" / "target" / (stem + ".txt"));
      CAPTURE(instruction);
      const omni::Image target = omni::read_image(dir.path() / "a" / "target" / (stem + ".png"));
      const omni::Image reference = omni::read_image(dir.path() / "a" / "control" / (stem + "_control_1.png"));
      const std::size_t centre = (32 * 64 + 32) * 3;  // the reference shows its shape centred
      const bool right = instruction.find("from image 2 in the top-right") != std::string::npos ||
                         instruction.find("from image 2 in the bottom-right") != std::string::npos;
      const bool bottom = instruction.find("from image 2 in the bottom-") != std::string::npos;
      const int x = right ? 64 - 4 - 12 : 4 + 12, y = bottom ? 64 - 4 - 12 : 4 + 12;  // the placed box's centre
      const std::size_t placed = (static_cast<std::size_t>(y) * 64 + x) * 3;
      for (int c = 0; c < 3; ++c) CHECK(target.pixels[placed + c] == reference.pixels[centre + c]);
    }
    CHECK_THROWS_WITH_AS(flux_kontext::write_shapes_dataset(dir.path() / "a", options),
                         doctest::Contains("already exists"), std::exception);
  }

  TEST_CASE("make_missing is checked before anything is made") {
    omni::test::TempDir dir;
    auto result = run_quickstart(dir.path(), " --set make_missing.dataset=cubes");
    CHECK(result.exit_code == 2);
    CHECK(result.output.find("make_missing.dataset") != std::string::npos);
    CHECK(result.output.find("'shapes'") != std::string::npos);
    result = run_quickstart(dir.path(), " --set data.init_args.dataset_path=[]");
    CHECK(result.exit_code == 2);
    CHECK(result.output.find("needs exactly one data.init_args.dataset_path") != std::string::npos);
    result = run_quickstart(dir.path(), " --set make_missing.image_size=40");
    CHECK(result.exit_code == 2);
    CHECK(result.output.find("multiple of 16") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / "output"));
  }

  TEST_CASE("every make_missing setting decides what is made") {
    omni::test::TempDir dir;
    const auto make = [&](const std::string& name, const std::string& settings) {
      const fs::path folder = dir.path() / name;
      fs::create_directories(folder);
      const auto result = run_quickstart(folder, " --mode cache" + settings);
      CAPTURE(settings);
      CAPTURE(result.output);
      REQUIRE(result.exit_code == 0);
      return folder / "output" / "quickstart" / "data";
    };
    const std::string small = " --set make_missing.train_samples=3 --set make_missing.held_out_samples=2"
                              " --set make_missing.image_size=32 --set data.init_args.processor."
                              "init_args.target_size=[32,32]";
    const fs::path data = make("a", small);
    const auto count = [](const fs::path& folder) {
      return std::count_if(fs::directory_iterator(folder), fs::directory_iterator{},
                           [](const auto& entry) { return entry.path().extension() == ".png"; });
    };
    CHECK(count(data / "train" / "target") == 3);
    CHECK(count(data / "held_out" / "target") == 2);
    CHECK(omni::read_image(data / "train" / "target" / "0000.png").width == 32);
    CHECK(fs::exists(data / "train" / "control" / "0000_control_1.png"));
    CHECK_FALSE(fs::exists(data / "train" / "control" / "0000_control_2.png"));
    const fs::path two = make("b", small + " --set make_missing.shape_references=2");
    CHECK(fs::exists(two / "train" / "control" / "0000_control_2.png"));
    const fs::path reseeded = make("c", small + " --set make_missing.seed=5");
    CHECK(read_file(reseeded / "train" / "target" / "0000.png") !=
          read_file(data / "train" / "target" / "0000.png"));
  }

  TEST_CASE("the quickstart runs end to end, reports, and lowers the held-out loss") {
    omni::test::TempDir dir;
    const std::string shorter = " --set train.max_train_steps=40 --set validation.steps=20"
                                " --set train.checkpointing_steps=20 --set make_missing.train_samples=16";
    auto result = run_quickstart(dir.path(), shorter);
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("made the embedded 'tiny' model") != std::string::npos);
    const fs::path output = dir.path() / "output" / "quickstart";
    const fs::path run = only_run_folder(output);
    for (const char* file : {"pytorch_lora_weights.safetensors", "metrics.jsonl", "report/report.txt",
                             "report/summary.json", "report/loss_curve.png", "report/held_out-0.png",
                             "report/held_out-3.png", "validation/step-20.png", "validation/step-40.png"}) {
      CAPTURE(file);
      CHECK(fs::exists(run / file));
    }
    CHECK(fs::exists(output / "predictions" / "held-out-0000.png"));
    const auto summary = nlohmann::json::parse(read_file(run / "report" / "summary.json"));
    CHECK(summary["steps"].get<int>() == 40);
    // 40 of the quickstart's 400 steps on half its data lowered the held-out loss by 16.6 %
    // when measured (400 steps: 29 %, the target 20 %); half of that is the margin.
    const double reduction = 1 - summary["held_out_loss_lora"].get<double>() /
                                     summary["held_out_loss_base"].get<double>();
    CHECK(reduction >= 0.08);
    CHECK(summary["train_loss_last_mean"].get<double>() < summary["train_loss_first_mean"].get<double>());
    // A held-out grid: 2 references | target | base | LoRA, 64 px each.
    const omni::Image grid = omni::read_image(run / "report" / "held_out-0.png");
    CHECK(grid.width == 5 * 64);
    CHECK(grid.height == 64);
    CHECK(result.output.find("held-out loss    base model") != std::string::npos);

    // The model and data are reused; --resume latest continues the same run to more steps.
    result = run_quickstart(dir.path(), shorter + " --mode fit --resume latest --set train.max_train_steps=50");
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("made the") == std::string::npos);
    CHECK(result.output.find("resuming") != std::string::npos);
    CHECK(only_run_folder(output) == run);
    CHECK(nlohmann::json::parse(read_file(run / "report" / "summary.json"))["steps"].get<int>() == 50);
  }
}
