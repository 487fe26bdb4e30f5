#pragma once
// From image files to the tensors the VAE sees: the size each image gets (data.processor:
// fixed sizes, pixel budgets, or the source size snapped to multiples of 16) and the
// resize / crop / pad that brings it there.
#include <filesystem>
#include <vector>

#include <ATen/core/Tensor.h>

#include "flux_kontext/trainer/trainer_config.hpp"
#include "omni/image.hpp"

namespace flux_kontext {

// Images are processed to multiples of this (the VAE's 8x times the 2x2 packing).
inline constexpr int kPixelMultiple = 16;

struct SampleSizes {
  omni::ImageSize target;  // {0, 0} when the sample has no target
  std::vector<omni::ImageSize> controls;
};

// Sizes for a sample whose files have these sizes (read from their headers). Throws
// omni::Error naming `sample_id` when an image is smaller than one 16x16 patch.
SampleSizes plan_sample_sizes(const ProcessorConfig& processor,
                              const std::string& sample_id,
                              const std::optional<omni::ImageSize>& target,
                              const std::vector<omni::ImageSize>& controls);

// Reads `file` and brings it to `size` with processor.process_type: [3, H, W] in [-1, 1].
at::Tensor load_processed_image(const std::filesystem::path& file,
                                omni::ImageSize size,
                                const ProcessorConfig& processor);

// Reads a mask image and brings it to `size` the way the target was (nearest sampling):
// [1, H, W] in [0, 1].
at::Tensor load_processed_mask(const std::filesystem::path& file,
                               omni::ImageSize size,
                               const ProcessorConfig& processor);

}  // namespace flux_kontext
