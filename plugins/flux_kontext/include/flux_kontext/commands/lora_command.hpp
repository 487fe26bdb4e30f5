#pragma once
// `omnihost lora convert IN OUT --to kohya|diffusers`: rewrites a Flux LoRA file in the
// other layout without loading a model (lora_files.hpp, lora_kohya.hpp).
#include "omni/component.hpp"

namespace flux_kontext {

omni::CommandFactory lora_convert_command();

}  // namespace flux_kontext
