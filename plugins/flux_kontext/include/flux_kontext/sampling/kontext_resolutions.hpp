#pragma once
// The output sizes FLUX.1 Kontext was trained on, and the choice among them that the Kontext
// pipeline makes from the input image when no size is given.
#include <array>

#include "omni/image.hpp"

namespace flux_kontext {

// Copied from diffusers' PREFERRED_KONTEXT_RESOLUTIONS (pipeline_flux_kontext.py), in its
// order. diffusers unpacks each pair as (width, height): `for w, h in ...`.
inline constexpr std::array<omni::ImageSize, 17> kPreferredKontextResolutions{{
    {672, 1568}, {688, 1504}, {720, 1456}, {752, 1392}, {800, 1328}, {832, 1248},
    {880, 1184}, {944, 1104}, {1024, 1024}, {1104, 944}, {1184, 880}, {1248, 832},
    {1328, 800}, {1392, 752}, {1456, 720}, {1504, 688}, {1568, 672},
}};

// The preferred Kontext resolution whose aspect ratio (w / h) is closest to width / height,
// ties going to the narrower one, exactly as FluxKontextPipeline's
// min((abs(aspect - w / h), w, h) for w, h in PREFERRED_KONTEXT_RESOLUTIONS).
// Throws omni::Error on non-positive arguments.
omni::ImageSize preferred_kontext_size(int height, int width);

}  // namespace flux_kontext
