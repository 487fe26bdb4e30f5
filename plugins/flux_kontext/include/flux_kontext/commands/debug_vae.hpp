#pragma once
// `omnihost debug vae`: runs the VAE on a cases file (the layout of
// fixtures/flux/vae_cases.safetensors) so its numbers can be compared with Python.
#include "omni/component.hpp"

namespace flux_kontext {

// Reads `image` and `decode_input_normalized`, writes `latent_mean` (the encoder's mean) and
// `decoded` (decode(z / scaling_factor + shift_factor)).
omni::CommandFactory debug_vae_command();

}  // namespace flux_kontext
