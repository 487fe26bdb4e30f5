#pragma once
// Strict loading of checkpoint tensors into LibTorch modules whose parameter and buffer
// names mirror the checkpoint's, so loading is a lookup.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "omni/export.hpp"
#include "omni/safetensors.hpp"

namespace torch::nn {
class Module;
}

namespace omni {

struct WeightLoadOptions {
  // Converted tensor by tensor from the mapping, so loading never holds two full copies.
  std::optional<c10::ScalarType> dtype;  // floating-point tensors only; none keeps the file's
  c10::Device device = c10::Device(c10::kCPU);
  std::string prefix;  // checkpoint names are `prefix + module name` (e.g. "text_model.")
  // Module tensors that may be absent from the checkpoint (regular expressions, full match).
  std::vector<std::string> allow_missing;
  // Checkpoint tensors the module does not have that may be ignored (regular expressions).
  std::vector<std::string> allow_unexpected;
  // Renames a checkpoint name before lookup (e.g. BFL -> diffusers names); empty: identity.
  std::function<std::string(const std::string&)> rename;
};

struct WeightLoadReport {
  std::vector<std::string> loaded;
  std::vector<std::string> missing_allowed;
  std::vector<std::string> unexpected_ignored;
};

// Copies every module parameter and buffer from `source`. Missing, unexpected and
// wrong-shape tensors are reported together in one omni::Error (names and shapes, the first
// 20 of each), unless allowed by the options.
OMNI_API WeightLoadReport load_weights(torch::nn::Module& module, const TensorSource& source,
                                       const WeightLoadOptions& options = {});

}  // namespace omni
