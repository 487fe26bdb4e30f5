#pragma once
// `omnihost debug flux-sample --model DIR --cases FILE --tag TAG --steps N --out FILE`: the
// whole Euler sampling loop and VAE decode on the inputs of a tensors file laid out as
// ../shared/fixtures/flux/sampling_cases.safetensors, so the C++ loop can be compared with
// diffusers' FluxKontextPipeline.
#include "omni/component.hpp"

namespace flux_kontext {

// Reads encoder_hidden_states, pooled_projections, guidance, TAG.initial_noise,
// TAG.control_tokens, TAG.img_ids (and the metadata target_hw); writes TAG.final_latents and
// TAG.image.
omni::CommandFactory debug_flux_sample_command();

}  // namespace flux_kontext
