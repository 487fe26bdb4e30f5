#pragma once
// 8-bit images to and from the float tensors the VAE takes, with diffusers' conventions
// (VaeImageProcessor: x / 255 * 2 - 1 in, (x / 2 + 0.5).clamp(0, 1) * 255 rounded out).
#include <ATen/core/Tensor.h>

#include "omni/export.hpp"
#include "omni/image.hpp"

namespace omni {

// float32 [3, H, W] in [-1, 1] on the CPU. RGB(A) keeps R, G, B and drops alpha; gray
// (1 or 2 channels) is repeated into three.
OMNI_API at::Tensor image_to_tensor(const Image& image);

// float32 [1, H, W] in [0, 1]: gray images give their gray channel, RGB(A) images their
// luminance as PIL's convert("L") computes it (ITU-R 601, rounded), so that a mask saved as
// RGB reads back exactly. Alpha is ignored.
OMNI_API at::Tensor image_to_mask(const Image& image);

// An RGB image from a floating [3, H, W] tensor in [-1, 1] on any device: clamped, scaled
// to 0..255 and rounded to nearest.
OMNI_API Image tensor_to_image(const at::Tensor& tensor);

}  // namespace omni
