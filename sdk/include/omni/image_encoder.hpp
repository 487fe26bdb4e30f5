#pragma once
#include <string>

#include <ATen/core/Tensor.h>

#include "omni/export.hpp"

namespace omni {

// Maps images ([batch, 3, H, W] in [-1, 1]) to latents and back.
class OMNI_API ImageEncoder {
 public:
  virtual ~ImageEncoder();
  virtual at::Tensor encode(const at::Tensor& images) = 0;
  virtual at::Tensor decode(const at::Tensor& latents) = 0;
  virtual std::string identity() const = 0;
};

}  // namespace omni
