#pragma once
// Test helpers for BFL single-file Flux checkpoints.
#include <string>

#include "flux_kontext/model/flux_transformer_config.hpp"
#include "omni/safetensors.hpp"

namespace flux_test {

// The inverse of bfl_checkpoint.cpp's mapping, written independently: diffusers names -> BFL
// names (under `prefix`), fusing q/k/v (and the single blocks' MLP input) and swapping
// norm_out's halves. Throws std::runtime_error when a tensor is missing or left over.
omni::NamedTensors diffusers_to_bfl(const omni::TensorSource& diffusers,
                                    const flux_kontext::FluxTransformerConfig& config,
                                    const std::string& prefix);

}  // namespace flux_test
