#pragma once
// Gradient-norm clipping that never waits for the device: the norm stays a tensor, read by the
// host only when the training log asks for it (every train.log_every steps).
#include <vector>

#include <ATen/core/Tensor.h>

#include "omni/export.hpp"

namespace omni {

// Scales the gradients of `params` (those that have one) so that their joint L2 norm is at most
// `max_norm`, as torch.nn.utils.clip_grad_norm_ does: coefficient max_norm / (norm + 1e-6),
// capped at 1. Returns the norm before clipping, a 0-dimensional tensor on the gradients'
// device; 0 when no parameter has a gradient.
OMNI_API at::Tensor clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace omni
