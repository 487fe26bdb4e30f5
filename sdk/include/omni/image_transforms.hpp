#pragma once
// Resizing, cropping and padding of [C, H, W] float image tensors (values in [-1, 1] for
// images, [0, 1] for masks) for the data set and the pipelines.
#include <string>

#include <ATen/core/Tensor.h>

#include "omni/export.hpp"
#include "omni/image_sizes.hpp"

namespace omni {

// Resizes to height x width. mode: "bilinear" and "bicubic" (align_corners=false, as
// F.interpolate), "nearest" (PyTorch's legacy nearest, floor(dst * in / out)), "area"
// (adaptive average pooling, as F.interpolate's "area"). Other names throw omni::Error.
// `antialias` applies to bilinear and bicubic when a side shrinks: PIL-style filtering, as
// the reference training scripts get from PIL resizes; without it, downscaling by more
// than 2x aliases. Bicubic can overshoot the input range slightly; nothing is clamped.
OMNI_API at::Tensor resize(const at::Tensor& image, int height, int width,
                           const std::string& mode = "bilinear", bool antialias = true);

// Scales (keeping the aspect ratio) so that the image covers height x width, then cuts out
// the centre; when the excess is odd, the extra row/column is cut at the bottom/right.
OMNI_API at::Tensor center_crop_resize(const at::Tensor& image, int height, int width,
                                       const std::string& mode = "bilinear");

// Scales (keeping the aspect ratio) so that the image fits inside height x width, then pads
// with -1 (black for [-1, 1] images). where: "center" (padding split evenly, the extra
// pixel at the bottom/right) or "right" (image at the top left, padding right and bottom).
OMNI_API at::Tensor pad_resize(const at::Tensor& image, int height, int width,
                               const std::string& where = "center",
                               const std::string& mode = "bilinear");

}  // namespace omni
