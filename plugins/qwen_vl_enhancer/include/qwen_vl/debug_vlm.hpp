#pragma once
// `omnihost debug vlm`: Qwen2.5-VL on one prompt of a cases file (the layout of the upstream
// fixtures: TAG.input_ids, TAG.pixel_values or the raw TAG.image_K, TAG.image_grid_thw), writing
// what transformers computes for it (TAG.image_embeds, TAG.position_ids, TAG.rope_deltas,
// TAG.logits, TAG.greedy_ids), so a checkpoint or a device can be compared tensor by tensor.
#include "omni/component.hpp"

namespace qwen_vl {

omni::CommandFactory debug_vlm_command();

}  // namespace qwen_vl
