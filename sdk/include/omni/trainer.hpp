#pragma once
#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "omni/component.hpp"
#include "omni/export.hpp"

namespace omni {

class ProcessGroup;

enum class Stage { cache, fit, predict };

OMNI_API std::string_view stage_name(Stage stage);

// One edit asked for on the command line (`omnihost predict`), in terms every image-editing
// trainer understands; each trainer maps it onto its own settings. Unset fields keep the
// config's values.
struct PredictRequest {
  std::vector<std::filesystem::path> images;  // the image to edit, then any references
  std::string prompt;
  std::optional<std::string> negative_prompt;
  std::optional<int> width, height;  // default: the trainer's choice from the first image
  std::optional<int> steps;
  std::optional<double> guidance_scale, true_cfg_scale;
  std::optional<long> seed;
  std::optional<std::filesystem::path> lora;
  std::optional<double> lora_scale;
  std::filesystem::path output;  // the PNG to write (atomically), an absolute path
};

// What the host hands to every stage.
struct StageContext {
  const ComponentProvider* components = nullptr;
  // `--resume DIR` or `--resume latest`, for the fit stage.
  std::optional<std::string> resume;
  // Set by the host's SIGINT/SIGTERM handler; long loops poll it, checkpoint and return.
  const std::atomic<bool>* stop_requested = nullptr;
  // For the predict stage: when set, edit exactly this instead of the config's predict list.
  const PredictRequest* predict_request = nullptr;
  // The job's data-parallel group (omni/distributed.hpp); null for a lone process. Read it
  // through process_group_of(context).
  ProcessGroup* group = nullptr;
};

// The stage's process group: the job's, or the single-process group.
OMNI_API ProcessGroup& process_group_of(const StageContext& context);

// A training recipe: owns the config sections it reads and runs the stages of a job.
class OMNI_API Trainer {
 public:
  virtual ~Trainer();
  virtual void cache(const StageContext& context) = 0;
  virtual void fit(const StageContext& context) = 0;
  virtual void predict(const StageContext& context) = 0;
};

}  // namespace omni
