#pragma once
// Choosing training and inference resolutions; no tensors here, so data-set code that only
// buckets sizes does not pull in LibTorch.
#include <array>

#include "omni/export.hpp"
#include "omni/image.hpp"

namespace omni {

// The resolutions FLUX.1 Kontext was trained on, copied from diffusers'
// PREFERRED_KONTEXT_RESOLUTIONS (pipeline_flux_kontext.py), in its order. diffusers unpacks
// each pair as (width, height): `for w, h in PREFERRED_KONTEXT_RESOLUTIONS`.
inline constexpr std::array<ImageSize, 17> kPreferredKontextResolutions{{
    {672, 1568}, {688, 1504}, {720, 1456}, {752, 1392}, {800, 1328}, {832, 1248},
    {880, 1184}, {944, 1104}, {1024, 1024}, {1104, 944}, {1184, 880}, {1248, 832},
    {1328, 800}, {1392, 752}, {1456, 720}, {1504, 688}, {1568, 672},
}};

// Each side rounded down to a multiple of `multiple` (as diffusers' `x // m * m`), but at
// least `multiple`. Throws omni::Error on non-positive arguments.
OMNI_API ImageSize snap_to_multiple(int height, int width, int multiple = 16);

// The size with the aspect ratio of height x width and about `pixels` pixels, both sides
// multiples of `multiple` (at least `multiple`). Same arithmetic as FluxKontextPipeline's
// max_area: round(sqrt(pixels * w / h)), then rounded down to the multiple.
OMNI_API ImageSize size_for_pixel_budget(int height, int width, long long pixels,
                                         int multiple = 16);

// The preferred Kontext resolution whose aspect ratio (w / h) is closest to width / height,
// ties going to the narrower one, exactly as FluxKontextPipeline's
// min((abs(aspect - w / h), w, h) for w, h in PREFERRED_KONTEXT_RESOLUTIONS).
OMNI_API ImageSize preferred_kontext_size(int height, int width);

}  // namespace omni
