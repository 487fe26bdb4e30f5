#pragma once
// Activation checkpointing for LibTorch C++ (which has no torch.utils.checkpoint): the block
// runs without recording a graph, keeping only its inputs; the backward pass runs it again
// with the graph recorded and back-propagates through that. Peak memory then holds one
// block's activations instead of all of them, for one extra forward per block.
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "omni/export.hpp"

namespace omni {

using BlockFunction = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>&)>;

// Returns block(inputs), differentiable with respect to `inputs` and `parameters` (the
// tensors the block reads besides its inputs that need gradients, e.g. its trainable
// parameters; they get their .grad accumulated as usual). The block must be a pure function
// of inputs and parameters; the CPU random generator (and the CUDA one of the inputs'
// device) is restored for the recomputation, so dropout draws the same masks.
OMNI_API std::vector<at::Tensor> checkpointed(BlockFunction block,
                                                      const std::vector<at::Tensor>& inputs,
                                                      const std::vector<at::Tensor>& parameters);

}  // namespace omni
