#pragma once
// Choosing training and inference resolutions; no tensors here, so data-set code that only
// buckets sizes does not pull in LibTorch.
#include <array>

#include "omni/export.hpp"
#include "omni/image.hpp"

namespace omni {

// Each side rounded down to a multiple of `multiple` (as diffusers' `x // m * m`), but at
// least `multiple`. Throws omni::Error on non-positive arguments.
OMNI_API ImageSize snap_to_multiple(int height, int width, int multiple = 16);

// The size with the aspect ratio of height x width and about `pixels` pixels, both sides
// multiples of `multiple` (at least `multiple`). Same arithmetic as FluxKontextPipeline's
// max_area: round(sqrt(pixels * w / h)), then rounded down to the multiple.
OMNI_API ImageSize size_for_pixel_budget(int height, int width, long long pixels,
                                         int multiple = 16);

}  // namespace omni
