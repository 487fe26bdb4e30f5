#include "omni/training/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "omni/error.hpp"

namespace omni {
namespace {

constexpr double pi = 3.14159265358979323846;

double warmup(long step, long warmup_steps) {
  return static_cast<double>(step) / static_cast<double>(std::max(1L, warmup_steps));
}

}  // namespace

double lr_factor(const LrSchedule& s, long step, double base_lr) {
  const bool warming = step < s.warmup_steps;
  const double progress = static_cast<double>(step - s.warmup_steps) /
                          static_cast<double>(std::max(1L, s.total_steps - s.warmup_steps));
  if (s.type == "constant") return 1.0;
  if (s.type == "constant_with_warmup") return warming ? warmup(step, s.warmup_steps) : 1.0;
  if (s.type == "linear") {
    if (warming) return warmup(step, s.warmup_steps);
    return std::max(0.0, static_cast<double>(s.total_steps - step) /
                             static_cast<double>(std::max(1L, s.total_steps - s.warmup_steps)));
  }
  if (s.type == "cosine") {
    if (warming) return warmup(step, s.warmup_steps);
    return std::max(0.0, 0.5 * (1.0 + std::cos(pi * s.num_cycles * 2.0 * progress)));
  }
  if (s.type == "cosine_with_restarts") {
    if (warming) return warmup(step, s.warmup_steps);
    if (progress >= 1.0) return 0.0;
    const double cycle_progress = std::fmod(s.num_cycles * progress, 1.0);
    return std::max(0.0, 0.5 * (1.0 + std::cos(pi * cycle_progress)));
  }
  if (s.type == "polynomial") {
    if (warming) return warmup(step, s.warmup_steps);
    if (step > s.total_steps) return s.lr_end / base_lr;
    const double remaining = 1.0 - progress;
    const double lr = (base_lr - s.lr_end) * std::pow(remaining, s.power) + s.lr_end;
    return lr / base_lr;
  }
  throw Error(fmt::format(
      "lr_scheduler.scheduler_type: unknown schedule '{}' (expected constant, "
      "constant_with_warmup, linear, cosine, cosine_with_restarts or polynomial)",
      s.type));
}

}  // namespace omni
