#pragma once
// Running a prepared job's stages: shared by `omnihost run` and `omnihost predict`.
#include <optional>
#include <string>
#include <vector>

#include "host_config.hpp"
#include "omni/trainer.hpp"

namespace omni::host {

// Builds the job's trainer and runs `stages` in order with `threads` LibTorch threads (0:
// one per core), stopping after a stage that saw SIGINT/SIGTERM. `predict_request` (from
// `omnihost predict`) goes to the predict stage. Returns the exit code.
int run_stages(const PreparedJob& job, Registry& registry, const std::vector<Stage>& stages,
               int threads, std::optional<std::string> resume,
               const PredictRequest* predict_request = nullptr);

}  // namespace omni::host
