// A FLUX.1 Kontext variant in one override: the "increasing index" position ids that some
// multi-reference Kontext LoRAs were trained with. Reference image i (0-based) gets
// [i + 1, row, col], with no offsets, where Kontext gives every reference [1, row, col] and
// DreamOmni2 adds each reference's column offset. Everything else (cache, fit, validation,
// predict, LoRA files) is the FluxKontext trainer's; the cache keys follow the new ids by
// themselves (FluxKontextTrainer::position_id_scheme).
#include <ATen/ATen.h>

#include "flux_kontext/model/position_ids.hpp"
#include "flux_kontext/trainer/flux_kontext_trainer.hpp"
#include "flux_kontext/trainer/registration.hpp"
#include "omni/plugin_api.hpp"

namespace {

class IncreasingIndexTrainer final : public flux_kontext::FluxKontextTrainer {
 public:
  using FluxKontextTrainer::FluxKontextTrainer;

  at::Tensor control_image_ids(const std::vector<flux_kontext::PackedGrid>& controls) const override {
    std::vector<at::Tensor> parts;
    for (std::size_t i = 0; i < controls.size(); ++i) {
      parts.push_back(flux_kontext::grid_position_ids(controls[i], static_cast<double>(i + 1)));
    }
    if (parts.empty()) return at::zeros({0, 3}, at::kFloat);
    return at::cat(parts, 0);
  }
};

void register_increasing_index(omni::Registrar& registrar) {
  registrar.add_trainer(flux_kontext::make_trainer_factory(
      "KontextIncreasingIndex",
      "Kontext LoRA with reference i at index i+1 (no offsets), an out-of-tree example",
      [](flux_kontext::TrainerConfig config) -> std::unique_ptr<flux_kontext::FluxKontextTrainer> {
        return std::make_unique<IncreasingIndexTrainer>(std::move(config));
      }));
}

}  // namespace

OMNI_PLUGIN("kontext_increasing_index", "0.1.0", register_increasing_index)
