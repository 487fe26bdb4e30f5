#pragma once
// `omnihost debug text-encoder`: runs a CLIP or T5 component folder on the token ids of a
// cases file (the layout of fixtures/text/*_cases.safetensors), to compare with Python.
#include "omni/component.hpp"

namespace flux_kontext {

omni::CommandFactory debug_text_encoder_command();

}  // namespace flux_kontext
