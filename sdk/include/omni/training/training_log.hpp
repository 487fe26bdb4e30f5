#pragma once
// What fit reports per optimizer step: a console line (step, raw and smoothed loss, learning
// rate, it/s, ETA), `metrics.jsonl`, and TensorBoard scalars under `<run>/tensorboard`.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "omni/training/training_checkpoint.hpp"
#include "omni/export.hpp"
#include "omni/image.hpp"
#include "omni/metrics_log.hpp"
#include "omni/tensorboard.hpp"

namespace omni {

class OMNI_API TrainingLog {
 public:
  TrainingLog(const std::filesystem::path& run_dir, bool tensorboard, std::int64_t total_steps,
              const TrainingPosition& start);

  void step(const TrainingPosition& position, double loss, double lr, double grad_norm);
  // A validation's results: `val_loss` (when the set has targets) in metrics.jsonl and
  // TensorBoard, and the grid as a TensorBoard image.
  void validation(std::int64_t step, std::optional<double> loss, const Image& grid);
  double smoothed_loss() const { return smoothed_; }
  TensorBoardWriter* tensorboard() { return tensorboard_.get(); }

 private:
  MetricsLog metrics_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
  std::int64_t total_steps_;
  std::int64_t start_step_;
  double smoothed_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace omni
