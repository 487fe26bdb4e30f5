#pragma once
#include "flux_kontext/trainer/flux_kontext_trainer.hpp"

namespace dreamomni2 {

// Multi-reference editing on Kontext. Reference image i (0-based) gets the ids
// [i + 1, row, col + W_off(i)], W_off(i) being the summed packed widths of the references
// before it, so references no longer overlap in RoPE space. Nothing else differs.
class DreamOmni2Trainer final : public flux_kontext::FluxKontextTrainer {
 public:
  using FluxKontextTrainer::FluxKontextTrainer;
  at::Tensor control_image_ids(const std::vector<flux_kontext::PackedGrid>& controls) const override;
};

}  // namespace dreamomni2
