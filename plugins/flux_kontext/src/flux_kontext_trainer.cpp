#include "flux_kontext/flux_kontext_trainer.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"

namespace flux_kontext {

FluxKontextTrainer::FluxKontextTrainer(TrainerConfig config) : config_(std::move(config)) {}
FluxKontextTrainer::~FluxKontextTrainer() = default;

at::Tensor FluxKontextTrainer::control_image_ids(const std::vector<PackedGrid>& controls) const {
  std::vector<at::Tensor> parts;
  for (const PackedGrid& grid : controls) parts.push_back(grid_position_ids(grid, 1.0));
  if (parts.empty()) return at::zeros({0, 3}, at::kFloat);
  return at::cat(parts, 0);
}

at::Tensor FluxKontextTrainer::image_ids(const PackedGrid& target,
                                         const std::vector<PackedGrid>& controls) const {
  return at::cat({grid_position_ids(target, 0.0), control_image_ids(controls)}, 0);
}

// The stages arrive with the trainer issue; until then a run says so plainly.
void FluxKontextTrainer::cache(const omni::StageContext&) {
  throw omni::Error(fmt::format("{}: the cache stage is not implemented yet", name()));
}
void FluxKontextTrainer::fit(const omni::StageContext&) {
  throw omni::Error(fmt::format("{}: the fit stage is not implemented yet", name()));
}
void FluxKontextTrainer::predict(const omni::StageContext&) {
  throw omni::Error(fmt::format("{}: the predict stage is not implemented yet", name()));
}

}  // namespace flux_kontext
