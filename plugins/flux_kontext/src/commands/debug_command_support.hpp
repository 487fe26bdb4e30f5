#pragma once
// What the `omnihost debug ...` commands of this library share besides argument parsing
// (omni/command_options.hpp): model-folder resolution, and reading named tensors from a cases
// file with errors that name the file and the tensor.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "omni/command_options.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext::detail {

// `model`: a diffusers pipeline folder or repo id (the component's subfolder is taken), or
// the component's own folder.
std::filesystem::path component_folder(const std::string& model, const std::string& component);

// The tensor `name` of `cases`, as a contiguous CPU float32 copy; throws omni::Error naming
// the file and the tensor when it is absent.
at::Tensor case_tensor(const omni::SafetensorsFile& cases, const std::string& name);

}  // namespace flux_kontext::detail
