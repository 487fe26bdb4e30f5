#include "omni/training/training_checkpoint.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "omni/atomic_file.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"

namespace omni {
namespace fs = std::filesystem;
namespace {

constexpr const char* kStateFile = "trainer_state.json";
constexpr const char* kWeightsFile = "trainable.safetensors";
constexpr const char* kOptimizerFile = "optimizer.pt";
constexpr const char* kConfigFile = "config.yaml";
constexpr const char* kCompleteMarker = "COMPLETE";

void write_text(const fs::path& file, const std::string& text) {
  write_file_atomically(file, text.data(), text.size(), "checkpoint file");
}

// Steps of the complete checkpoints in a run's checkpoints folder, ascending.
std::vector<std::pair<std::int64_t, fs::path>> complete_checkpoints(const fs::path& folder) {
  std::vector<std::pair<std::int64_t, fs::path>> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("checkpoint-", 0) != 0) continue;
    if (!fs::exists(entry.path() / kCompleteMarker, error)) continue;
    try {
      found.emplace_back(std::stoll(name.substr(11)), entry.path());
    } catch (const std::exception&) {
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

// The latest complete checkpoint under `folder`, for messages.
std::string latest_or_none(const fs::path& folder) {
  const auto found = complete_checkpoints(folder);
  return found.empty() ? std::string("(none yet)") : found.back().second.string();
}

}  // namespace

fs::path checkpoint_folder(const fs::path& run_dir, std::int64_t step) {
  return run_dir / "checkpoints" / fmt::format("checkpoint-{}", step);
}

void save_checkpoint(const fs::path& run_dir, const TrainingPosition& position,
                     const NamedTensors& trainable, torch::optim::Optimizer& optimizer,
                     const std::string& config_yaml,
                     const std::function<void(const fs::path&)>& lora_file_writer,
                     std::optional<int> keep_last_n) {
  const fs::path final_folder = checkpoint_folder(run_dir, position.step);
  const fs::path partial = final_folder.parent_path() /
                           fmt::format(".{}.partial-{}", final_folder.filename().string(), getpid());
  fs::remove_all(partial);
  fs::create_directories(partial);
  try {
    save_safetensors(partial / kWeightsFile, trainable);
    // Through memory, so that a full disk gets the writer's message (path, bytes needed).
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    std::ostringstream optimizer_bytes;
    archive.save_to(optimizer_bytes);
    write_text(partial / kOptimizerFile, optimizer_bytes.str());
    write_text(partial / kStateFile, nlohmann::json{{"step", position.step},
                                                    {"epoch", position.epoch},
                                                    {"cursor", position.cursor},
                                                    {"smoothed_loss", position.smoothed_loss},
                                                    {"global_batch_size", position.global_batch_size},
                                                    {"format", 1}}
                                         .dump(2));
    write_text(partial / kConfigFile, config_yaml);
    if (lora_file_writer) lora_file_writer(partial / "pytorch_lora_weights.safetensors");
    write_text(partial / kCompleteMarker, "");
  } catch (const Error& error) {
    // The checkpoints already written stay as they are; this one leaves nothing behind.
    std::error_code ignored;
    fs::remove_all(partial, ignored);
    throw Error(fmt::format("checkpoint of step {} not saved (the latest complete one is {}): {}",
                            position.step, latest_or_none(final_folder.parent_path()),
                            error.what()));
  }
  fs::remove_all(final_folder);  // a checkpoint of the same step from an interrupted attempt
  fs::rename(partial, final_folder);
  if (keep_last_n) {
    auto existing = complete_checkpoints(final_folder.parent_path());
    for (std::size_t i = 0; i + static_cast<std::size_t>(*keep_last_n) < existing.size(); ++i) {
      fs::remove_all(existing[i].second);
    }
  }
}

CheckpointContents load_checkpoint(const fs::path& folder) {
  std::error_code error;
  if (!fs::is_directory(folder, error)) {
    throw Error(fmt::format("--resume: '{}' is not a folder", folder.string()));
  }
  for (const char* name : {kCompleteMarker, kStateFile, kWeightsFile, kOptimizerFile, kConfigFile}) {
    if (!fs::exists(folder / name, error)) {
      throw Error(fmt::format(
          "--resume: '{}' is not a complete checkpoint: '{}' is missing (an interrupted save?)",
          folder.string(), name));
    }
  }
  CheckpointContents contents;
  nlohmann::json state;
  try {
    std::ifstream in(folder / kStateFile);
    state = nlohmann::json::parse(in);
    contents.position.step = state.at("step").get<std::int64_t>();
    contents.position.epoch = state.at("epoch").get<std::int64_t>();
    contents.position.cursor = state.at("cursor").get<std::int64_t>();
    contents.position.smoothed_loss = state.at("smoothed_loss").get<double>();
    contents.position.global_batch_size = state.value("global_batch_size", std::int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("--resume: '{}' is unreadable: {}",
                                  (folder / kStateFile).string(), e.what()));
  }
  auto weights = SafetensorsFile::open(folder / kWeightsFile);
  for (const std::string& name : weights->names()) {
    contents.trainable.emplace_back(name, weights->tensor(name).clone());
  }
  contents.optimizer_file = folder / kOptimizerFile;
  std::ifstream config(folder / kConfigFile);
  contents.config_yaml.assign(std::istreambuf_iterator<char>(config), {});
  return contents;
}

std::optional<fs::path> latest_checkpoint(const fs::path& output_dir) {
  std::optional<fs::path> best;
  std::int64_t best_step = -1;
  fs::file_time_type best_time{};
  std::error_code error;
  for (const auto& run : fs::directory_iterator(output_dir, error)) {
    for (const auto& [step, folder] : complete_checkpoints(run.path() / "checkpoints")) {
      const auto time = fs::last_write_time(folder / kCompleteMarker, error);
      // Newest by completion time; the step breaks ties within one run.
      if (!best || time > best_time || (time == best_time && step > best_step)) {
        best = folder;
        best_step = step;
        best_time = time;
      }
    }
  }
  return best;
}

fs::path create_run_folder(const fs::path& output_dir) {
  fs::create_directories(output_dir);
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  for (int attempt = 1;; ++attempt) {
    fs::path folder = output_dir / (attempt == 1 ? fmt::format("run-{}", stamp)
                                                 : fmt::format("run-{}-{}", stamp, attempt));
    std::error_code error;
    // create_directory is atomic: it fails when the folder exists, so two runs never share.
    if (fs::create_directory(folder, error)) return folder;
    if (error) throw Error(fmt::format("cannot create run folder '{}': {}", folder.string(), error.message()));
  }
}

}  // namespace omni
