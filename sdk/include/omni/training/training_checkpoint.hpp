#pragma once
// Training checkpoints: `<run>/checkpoints/checkpoint-<step>/` holding the trainable weights,
// the optimizer state, the training position and a copy of the config. A checkpoint is
// written under a temporary name and renamed when complete, so a folder with the final name
// is always whole; `keep_last_n` prunes the oldest.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <torch/optim/optimizer.h>

#include "omni/export.hpp"
#include "omni/safetensors.hpp"

namespace omni {

// Where training stands after `step` optimizer steps: the next batch is batch `cursor` of
// epoch `epoch`'s order. Everything random derives from the seed and this position.
struct TrainingPosition {
  std::int64_t step = 0;
  std::int64_t epoch = 0;
  std::int64_t cursor = 0;
  double smoothed_loss = 0;  // the console's running mean, so it continues too
  // Samples per batch across all ranks when written (0: not recorded, an older checkpoint);
  // `cursor` counts batches of this size.
  std::int64_t global_batch_size = 0;
};

struct CheckpointContents {
  TrainingPosition position;
  NamedTensors trainable;  // the LoRA parameters by name
  std::filesystem::path optimizer_file;
  std::string config_yaml;
};

OMNI_API std::filesystem::path checkpoint_folder(const std::filesystem::path& run_dir,
                                                         std::int64_t step);

// Writes a complete checkpoint (and the diffusers LoRA file, `lora_file_writer`, beside it for
// users), then removes all but the newest `keep_last_n` (when given).
OMNI_API void save_checkpoint(const std::filesystem::path& run_dir,
                                      const TrainingPosition& position,
                                      const NamedTensors& trainable,
                                      torch::optim::Optimizer& optimizer,
                                      const std::string& config_yaml,
                                      const std::function<void(const std::filesystem::path&)>& lora_file_writer,
                                      std::optional<int> keep_last_n);

// Reads a checkpoint folder; throws Error naming the folder and what is missing when it
// is not a complete checkpoint.
OMNI_API CheckpointContents load_checkpoint(const std::filesystem::path& folder);

// The newest complete checkpoint under `output_dir` (any run), for `--resume latest`.
OMNI_API std::optional<std::filesystem::path> latest_checkpoint(
    const std::filesystem::path& output_dir);

// A new run folder `<output_dir>/run-<YYYYmmdd-HHMMSS>[-N]`, never an existing one.
OMNI_API std::filesystem::path create_run_folder(const std::filesystem::path& output_dir);

}  // namespace omni
