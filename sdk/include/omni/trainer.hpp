#pragma once
#include <atomic>
#include <filesystem>
#include <optional>
#include <string>

#include "omni/component.hpp"
#include "omni/export.hpp"

namespace omni {

enum class Stage { cache, fit, predict };

OMNI_API std::string_view stage_name(Stage stage);

// What the host hands to every stage.
struct StageContext {
  const ComponentProvider* components = nullptr;
  // `--resume DIR` or `--resume latest`, for the fit stage.
  std::optional<std::string> resume;
  // Set by the host's SIGINT/SIGTERM handler; long loops poll it, checkpoint and return.
  const std::atomic<bool>* stop_requested = nullptr;
};

// A training recipe: owns the config sections it reads and runs the stages of a job.
class OMNI_API Trainer {
 public:
  virtual ~Trainer();
  virtual void cache(const StageContext& context) = 0;
  virtual void fit(const StageContext& context) = 0;
  virtual void predict(const StageContext& context) = 0;
};

}  // namespace omni
