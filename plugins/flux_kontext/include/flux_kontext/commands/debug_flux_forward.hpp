#pragma once
// `omnihost debug flux-forward --transformer DIR --cases FILE --tag TAG --out FILE`: one
// forward of the transformer on the inputs of a tensors file laid out as
// ../shared/fixtures/flux/flux_transformer_cases.safetensors, so that anyone can compare the
// C++ numbers with Python's.
#include <string>
#include <vector>

#include "omni/component.hpp"

namespace flux_kontext {

// Returns the exit code; throws omni::Error on bad options or inputs.
int run_debug_flux_forward(const std::vector<std::string>& arguments);

omni::CommandFactory debug_flux_forward_command();

}  // namespace flux_kontext
