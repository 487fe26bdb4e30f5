#pragma once
// The FluxKontext LoRA trainer. DreamOmni2 subclasses it and overrides only the position
// ids of the control images.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "flux_kontext/export.hpp"
#include "flux_kontext/position_ids.hpp"
#include "flux_kontext/trainer_config.hpp"
#include "omni/trainer.hpp"

namespace flux_kontext {

class FLUX_KONTEXT_API FluxKontextTrainer : public omni::Trainer {
 public:
  explicit FluxKontextTrainer(TrainerConfig config);
  ~FluxKontextTrainer() override;

  void cache(const omni::StageContext& context) override;
  void fit(const omni::StageContext& context) override;
  void predict(const omni::StageContext& context) override;

  // The registry name, for messages.
  virtual std::string name() const { return "FluxKontext"; }

  // Ids of the control images' tokens, concatenated in order: [sum of tokens, 3].
  // Kontext gives every control token [1, row, col].
  virtual at::Tensor control_image_ids(const std::vector<PackedGrid>& controls) const;

  // The whole image-token id table: the target's [0, row, col] first, then the controls.
  at::Tensor image_ids(const PackedGrid& target, const std::vector<PackedGrid>& controls) const;

  const TrainerConfig& config() const { return config_; }

 protected:
  TrainerConfig config_;
};

}  // namespace flux_kontext
