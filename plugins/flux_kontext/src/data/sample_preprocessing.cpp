#include "flux_kontext/data/sample_preprocessing.hpp"

#include <algorithm>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/image_io.hpp"
#include "omni/image_sizes.hpp"
#include "omni/image_tensor.hpp"
#include "omni/image_transforms.hpp"

namespace flux_kontext {
namespace {

void check_large_enough(const omni::ImageSize& size, const std::string& sample_id,
                        const char* what) {
  if (size.width < kPixelMultiple || size.height < kPixelMultiple) {
    throw omni::Error(fmt::format(
        "sample '{}': the {} image is {}x{} pixels, smaller than one latent patch ({}x{})",
        sample_id, what, size.width, size.height, kPixelMultiple, kPixelMultiple));
  }
}

omni::ImageSize from_hw(const std::vector<int>& hw) { return omni::ImageSize{hw[1], hw[0]}; }

// The budget of `budgets` closest to the source's own pixel count.
long nearest_budget(const std::vector<long>& budgets, const omni::ImageSize& source) {
  const double pixels = static_cast<double>(source.width) * source.height;
  return *std::min_element(budgets.begin(), budgets.end(), [&](long a, long b) {
    return std::abs(static_cast<double>(a) - pixels) < std::abs(static_cast<double>(b) - pixels);
  });
}

// The size of `pixels` pixels on the source's aspect ratio, that ratio first limited to
// `max_aspect_ratio` either way: an extreme panorama gets a bucket no more elongated than
// that, and the crop or the padding of process_type deals with the rest of it.
omni::ImageSize budget_size(omni::ImageSize source, long pixels, double max_aspect_ratio) {
  if (source.width > source.height * max_aspect_ratio) {
    source.width = static_cast<int>(source.height * max_aspect_ratio);
  } else if (source.height > source.width * max_aspect_ratio) {
    source.height = static_cast<int>(source.width * max_aspect_ratio);
  }
  return omni::size_for_pixel_budget(source.height, source.width, pixels, kPixelMultiple);
}

}  // namespace

SampleSizes plan_sample_sizes(const ProcessorConfig& processor, const std::string& sample_id,
                              const std::optional<omni::ImageSize>& target,
                              const std::vector<omni::ImageSize>& controls) {
  SampleSizes sizes;
  const double ratio = processor.max_aspect_ratio;
  if (target) {
    check_large_enough(*target, sample_id, "target");
    if (processor.target_size) {
      sizes.target = from_hw(*processor.target_size);
    } else if (processor.target_pixels) {
      sizes.target = budget_size(*target, *processor.target_pixels, ratio);
    } else if (!processor.multi_resolutions.empty()) {
      sizes.target = budget_size(*target, nearest_budget(processor.multi_resolutions, *target), ratio);
    } else {
      sizes.target = omni::snap_to_multiple(target->height, target->width, kPixelMultiple);
    }
  }
  for (std::size_t i = 0; i < controls.size(); ++i) {
    const omni::ImageSize& source = controls[i];
    check_large_enough(source, sample_id, i == 0 ? "control" : "extra control");
    omni::ImageSize size;
    if (processor.controls_size && !processor.controls_size->empty()) {
      const auto& list = *processor.controls_size;
      size = from_hw(list[std::min(i, list.size() - 1)]);
    } else if (!processor.controls_pixels.empty()) {
      const auto& list = processor.controls_pixels;
      size = budget_size(source, list[std::min(i, list.size() - 1)], ratio);
    } else if (target) {
      // As many pixels as the target, on the control's own aspect ratio.
      size = budget_size(source, static_cast<long>(sizes.target.width) * sizes.target.height, ratio);
    } else if (processor.target_pixels) {
      size = budget_size(source, *processor.target_pixels, ratio);
    } else {
      size = omni::snap_to_multiple(source.height, source.width, kPixelMultiple);
    }
    sizes.controls.push_back(size);
  }
  return sizes;
}

at::Tensor load_processed_image(const std::filesystem::path& file, omni::ImageSize size,
                                const ProcessorConfig& processor) {
  at::Tensor image = omni::image_to_tensor(omni::read_image(file));
  const std::string& type = processor.process_type;
  const std::string& mode = processor.resize_mode;
  if (type == "resize" || type == "fixed_pixels") {
    return omni::resize(image, size.height, size.width, mode);
  }
  if (type == "center_crop") return omni::center_crop_resize(image, size.height, size.width, mode);
  if (type == "center_padding") {
    return omni::pad_resize(image, size.height, size.width, "center", mode);
  }
  if (type == "right_padding") return omni::pad_resize(image, size.height, size.width, "right", mode);
  throw omni::Error(fmt::format("data.processor.process_type: unknown '{}'", type));
}

at::Tensor load_processed_mask(const std::filesystem::path& file, omni::ImageSize size,
                               const ProcessorConfig& processor) {
  at::Tensor mask = omni::image_to_mask(omni::read_image(file));
  const std::string& type = processor.process_type;
  if (type == "center_crop") return omni::center_crop_resize(mask, size.height, size.width, "nearest");
  if (type == "center_padding" || type == "right_padding") {
    at::Tensor padded = omni::pad_resize(mask * 2 - 1, size.height, size.width,
                                         type == "center_padding" ? "center" : "right", "nearest");
    return (padded + 1) / 2;  // padding is background
  }
  return omni::resize(mask, size.height, size.width, "nearest");
}

}  // namespace flux_kontext
