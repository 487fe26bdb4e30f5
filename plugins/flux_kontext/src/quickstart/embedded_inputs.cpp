#include "flux_kontext/quickstart/embedded_inputs.hpp"

#include <iostream>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "commands/debug_command_support.hpp"
#include "flux_kontext/quickstart/shapes_dataset.hpp"
#include "flux_kontext/quickstart/tiny_pipeline.hpp"
#include "omni/error.hpp"
#include "omni/interrupted_writes.hpp"

namespace flux_kontext {
namespace {

namespace fs = std::filesystem;

bool path_exists(const fs::path& path) {
  std::error_code error;
  return fs::exists(path, error);
}

void make_dataset_split(const MakeMissingConfig& make, const fs::path& folder, int samples,
                        std::uint64_t seed, const char* split) {
  if (path_exists(folder)) return;
  ShapesDatasetOptions options;
  options.samples = samples;
  options.image_size = make.image_size;
  options.shape_references = make.shape_references;
  options.seed = seed;
  write_shapes_dataset(folder, options);
  fmt::print("made the synthetic shapes data set ({}, {} samples) at {}\n", split, samples,
             folder.string());
}

// The data set's folder named by a data section: its first (and, for make_missing, only) path.
std::optional<fs::path> dataset_folder(const DataConfig& data) {
  if (data.dataset_path.empty()) return std::nullopt;
  return fs::path(data.dataset_path.front());
}

}  // namespace

void write_model_preset(const std::string& preset, const fs::path& folder, std::uint64_t seed) {
  if (preset != "tiny") {
    throw omni::Error(fmt::format("unknown model preset '{}' (known: tiny)", preset));
  }
  if (path_exists(folder)) throw omni::Error(fmt::format("'{}' already exists", folder.string()));
  const fs::path partial =
      folder.parent_path() / fmt::format(".{}.partial-{}", folder.filename().string(), getpid());
  std::error_code error;
  fs::remove_all(partial, error);
  try {
    write_tiny_kontext_pipeline(partial, seed);
    fs::rename(partial, folder);
  } catch (...) {
    fs::remove_all(partial, error);
    throw;
  }
}

void make_missing_inputs(const TrainerConfig& config) {
  const MakeMissingConfig& make = config.make_missing;
  if (make.model) {
    const fs::path folder(config.model.pretrained_model_name_or_path);
    if (!path_exists(folder)) {
      if (!folder.parent_path().empty()) fs::create_directories(folder.parent_path());
      write_model_preset(*make.model, folder, static_cast<std::uint64_t>(make.seed));
      fmt::print("made the embedded '{}' model at {}\n", *make.model, folder.string());
    }
  }
  if (!make.dataset) return;
  // The held-out split draws from another seed: none of its samples is a training sample.
  const auto seed = static_cast<std::uint64_t>(make.seed);
  const std::pair<const DataConfig*, int> splits[] = {
      {&config.data, make.train_samples},
      {config.validation.dataset ? &*config.validation.dataset : nullptr, make.held_out_samples}};
  for (std::size_t s = 0; s < 2; ++s) {
    if (!splits[s].first) continue;
    std::optional<fs::path> folder = dataset_folder(*splits[s].first);
    if (!folder) continue;
    if (!folder->parent_path().empty()) fs::create_directories(folder->parent_path());
    make_dataset_split(make, *folder, splits[s].second, seed * 2 + s + 1,
                       s == 0 ? "training" : "held out");
  }
}

namespace {

// Both init commands end with the seed, the folder to create (also their one positional
// argument) and --help.
std::optional<cxxopts::ParseResult> parse_init_arguments(cxxopts::Options& options,
                                                         const std::vector<std::string>& arguments) {
  options.add_options()
      ("seed", "random seed", cxxopts::value<std::uint64_t>()->default_value("0"))
      ("out", "the folder to create (must not exist)", cxxopts::value<std::string>())
      ("h,help", "show this help");
  options.parse_positional({"out"});
  options.positional_help("OUT");
  return omni::parse_command_options(options, arguments, {"out"});
}

int run_init_model(const std::vector<std::string>& arguments) {
  cxxopts::Options options("omnihost init-model",
                           "Write a model preset in the diffusers FLUX.1 Kontext folder layout, "
                           "with seeded random weights and the project's own tokenizers.");
  options.add_options()
      ("preset", "model preset: tiny", cxxopts::value<std::string>()->default_value("tiny"));
  const auto parsed = parse_init_arguments(options, arguments);
  if (!parsed) return 0;
  const fs::path out = (*parsed)["out"].as<std::string>();
  write_model_preset((*parsed)["preset"].as<std::string>(), out,
                     (*parsed)["seed"].as<std::uint64_t>());
  std::cout << fmt::format("wrote the '{}' model to {}\n", (*parsed)["preset"].as<std::string>(),
                           out.string());
  return 0;
}

int run_init_data(const std::vector<std::string>& arguments) {
  cxxopts::Options options("omnihost init-data",
                           "Write the synthetic shapes editing data set: a scene, one or two "
                           "shape references, the instruction and the exact target.");
  ShapesDatasetOptions defaults;
  options.add_options()
      ("preset", "data set preset: shapes", cxxopts::value<std::string>()->default_value("shapes"))
      ("samples", "number of samples", cxxopts::value<int>()->default_value(std::to_string(defaults.samples)))
      ("image-size", "image side in pixels (multiple of 16)",
       cxxopts::value<int>()->default_value(std::to_string(defaults.image_size)))
      ("shape-references", "shapes per sample: 1 or 2",
       cxxopts::value<int>()->default_value(std::to_string(defaults.shape_references)));
  const auto parsed = parse_init_arguments(options, arguments);
  if (!parsed) return 0;
  const std::string preset = (*parsed)["preset"].as<std::string>();
  if (preset != "shapes") throw omni::Error(fmt::format("unknown data set preset '{}' (known: shapes)", preset));
  ShapesDatasetOptions dataset;
  dataset.samples = (*parsed)["samples"].as<int>();
  dataset.image_size = (*parsed)["image-size"].as<int>();
  dataset.shape_references = (*parsed)["shape-references"].as<int>();
  dataset.seed = (*parsed)["seed"].as<std::uint64_t>();
  const fs::path out = (*parsed)["out"].as<std::string>();
  write_shapes_dataset(out, dataset);
  std::cout << fmt::format("wrote {} samples to {}\n", dataset.samples, out.string());
  return 0;
}

}  // namespace

omni::CommandFactory init_model_command() {
  return {"init-model", "write the embedded tiny model (diffusers layout)", run_init_model};
}

omni::CommandFactory init_data_command() {
  return {"init-data", "write the synthetic shapes editing data set", run_init_data};
}

void remove_interrupted_writes_of(const TrainerConfig& config) {
  std::vector<fs::path> folders{config.logging.output_dir, config.cache.cache_dir};
  if (config.predict.output_dir) folders.emplace_back(*config.predict.output_dir);
  std::size_t removed = 0;
  for (const fs::path& folder : folders) removed += omni::remove_interrupted_writes(folder);
  if (removed > 0) {
    fmt::print("removed {} temporary file(s) or folder(s) left by an interrupted run\n", removed);
  }
}

}  // namespace flux_kontext
