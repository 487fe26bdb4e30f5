#pragma once
// The Qwen2-VL image processor (transformers' Qwen2VLImageProcessor) for still images:
// smart_resize to multiples of patch * merge pixels within [min_pixels, max_pixels],
// rescale by 1/255, normalize per channel, repeat the frame to fill the temporal patch and cut
// it into patch rows in the order the vision tower expects.
#include <array>
#include <cstdint>
#include <filesystem>
#include <vector>

#include <ATen/core/Tensor.h>

#include "omni/image.hpp"
#include "omni/image_sizes.hpp"

namespace qwen_vl {

struct QwenImageProcessorConfig {
  std::int64_t patch_size = 14;
  std::int64_t temporal_patch_size = 2;
  std::int64_t merge_size = 2;
  std::int64_t min_pixels = 56 * 56;
  std::int64_t max_pixels = 28 * 28 * 1280;
  // OPENAI_CLIP_MEAN / OPENAI_CLIP_STD, upstream's defaults.
  std::array<double, 3> image_mean = {0.48145466, 0.4578275, 0.40821073};
  std::array<double, 3> image_std = {0.26862954, 0.26130258, 0.27577711};

  // preprocessor_config.json when the folder has one (patch sizes, mean/std, min/max pixels
  // from "min_pixels"/"max_pixels" or "size": {"shortest_edge", "longest_edge"}); else the
  // defaults above.
  static QwenImageProcessorConfig from_folder(const std::filesystem::path& folder);
};

// The (height, width) in pixels that upstream's smart_resize picks: both multiples of
// `factor`, aspect ratio kept as well as possible, area within [min_pixels, max_pixels].
// Throws omni::Error for a side below `factor` or an aspect ratio above 200.
omni::ImageSize smart_resize(int height, int width, std::int64_t factor, std::int64_t min_pixels,
                             std::int64_t max_pixels);

struct ProcessedImages {
  at::Tensor pixel_values;    // float32 [sum(t*h*w), C*T*P*P]
  at::Tensor image_grid_thw;  // int64 [images, 3], in patches
};

// Patch rows for an RGB u8 tensor [H, W, 3] whose sides are multiples of patch * merge
// (no resize): row r = ((by * W/28 + bx) * 2 + iy) * 2 + ix, values ordered (c, t, py, px).
at::Tensor patchify_image(const at::Tensor& rgb_u8, const QwenImageProcessorConfig& config);

// Resizes (bicubic, as PIL, to u8) when smart_resize asks for another size, then patchifies
// every image and concatenates them. Alpha is dropped, gray repeated into RGB.
ProcessedImages preprocess_images(const std::vector<omni::Image>& images,
                                  const QwenImageProcessorConfig& config);

// An omni::Image as a u8 [H, W, 3] RGB tensor.
at::Tensor image_to_rgb_tensor(const omni::Image& image);

}  // namespace qwen_vl
