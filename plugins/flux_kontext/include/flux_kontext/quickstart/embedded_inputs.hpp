#pragma once
// Inputs the project makes itself, so that a run needs no downloaded file: the embedded
// tiny model (`omnihost init-model --preset tiny OUT`) and the synthetic shapes data set
// (`omnihost init-data --preset shapes OUT`). A config's `make_missing` section asks a run to
// create them where its model and data paths point, when they are not there yet.
#include <cstdint>
#include <filesystem>

#include "flux_kontext/trainer/trainer_config.hpp"
#include "omni/component.hpp"

namespace flux_kontext {

// Writes the model preset `preset` ("tiny": write_tiny_kontext_pipeline) into `folder`, under
// a temporary name renamed into place when complete. `folder` must not exist.
void write_model_preset(const std::string& preset, const std::filesystem::path& folder,
                        std::uint64_t seed);

// Creates what `config.make_missing` names and is absent: the model at
// model.pretrained_model_name_or_path, the training split at the first data path, the
// held-out split (another seed) at the first validation.dataset path. Prints what it made.
void make_missing_inputs(const TrainerConfig& config);

// Before a stage writes: removes what a run killed mid-write left under the run's folders
// (logging.output_dir, cache.cache_dir, predict.output_dir): temporary files and partial
// folders of processes that are gone (omni::remove_interrupted_writes). Says how many.
void remove_interrupted_writes_of(const TrainerConfig& config);

omni::CommandFactory init_model_command();
omni::CommandFactory init_data_command();

}  // namespace flux_kontext
