#include "dreamomni2_trainer.hpp"

#include <ATen/ATen.h>

namespace dreamomni2 {

at::Tensor DreamOmni2Trainer::control_image_ids(
    const std::vector<flux_kontext::PackedGrid>& controls) const {
  std::vector<at::Tensor> parts;
  std::int64_t width_offset = 0;
  for (std::size_t i = 0; i < controls.size(); ++i) {
    parts.push_back(flux_kontext::grid_position_ids(controls[i], static_cast<double>(i + 1),
                                                    /*row_offset=*/0, width_offset));
    width_offset += controls[i].cols;
  }
  if (parts.empty()) return at::zeros({0, 3}, at::kFloat);
  return at::cat(parts, 0);
}

}  // namespace dreamomni2
