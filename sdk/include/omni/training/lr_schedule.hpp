#pragma once
// Learning-rate schedules of diffusers' get_scheduler (the names the upstream tool uses), as
// a pure function of the optimizer step, so a resumed run needs only the step to continue.
#include <string>

#include "omni/export.hpp"

namespace omni {

struct LrSchedule {
  std::string type = "constant";  // constant | constant_with_warmup | linear | cosine |
                                  // cosine_with_restarts | polynomial
  long warmup_steps = 0;
  long total_steps = 1;
  double num_cycles = 0.5;  // cosine: half a wave; cosine_with_restarts: number of restarts
  double power = 1.0;       // polynomial
  double lr_end = 1e-7;     // polynomial: the final learning rate (diffusers' default)
};

// The multiplier of the base learning rate for optimizer step `step` (0-based: the factor
// used by the step that makes `step` steps completed). Throws Error for unknown types.
OMNI_API double lr_factor(const LrSchedule& schedule, long step, double base_lr);

}  // namespace omni
