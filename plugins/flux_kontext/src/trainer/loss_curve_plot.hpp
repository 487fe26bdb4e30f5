#pragma once
// A loss-curve picture without a plotting library: the training loss (light), its smoothed
// curve (dark) and the validation loss (red dots) against the step, on axes labelled with
// the step and loss ranges in a small built-in digit font.
#include <cstdint>
#include <utility>
#include <vector>

#include "omni/image.hpp"

namespace flux_kontext {

using StepSeries = std::vector<std::pair<std::int64_t, double>>;  // (step, value), by step

struct LossCurves {
  StepSeries loss, smoothed, validation;
};

omni::Image plot_loss_curves(const LossCurves& curves, int width = 640, int height = 360);

}  // namespace flux_kontext
