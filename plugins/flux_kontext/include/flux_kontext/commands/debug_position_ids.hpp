#pragma once
// `omnihost debug position-ids`: the image-token position ids a FluxKontext-family trainer
// builds for a target and its controls, so that an id scheme can be checked from outside.
#include "omni/component.hpp"

namespace flux_kontext {

// `--trainer NAME --target HxW --control HxW [--control HxW ...] --out FILE`; sizes in
// pixels (multiples of 16: one packed token covers 16 x 16 pixels). Writes `img_ids`
// [tokens, 3] (float32, target first, then each control in order) to a safetensors file.
omni::CommandFactory debug_position_ids_command();

}  // namespace flux_kontext
