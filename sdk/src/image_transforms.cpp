#include "omni/image_transforms.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/error.hpp"

namespace omni {
namespace {

void check_arguments(const char* function, const at::Tensor& image, int height, int width) {
  if (!image.defined() || image.dim() != 3 || !at::isFloatingType(image.scalar_type()) ||
      image.size(0) < 1 || image.size(1) < 1 || image.size(2) < 1) {
    throw Error(fmt::format("{}: expected a floating [C, H, W] image tensor, got {} {}",
                            function,
                            image.defined() ? c10::toString(image.scalar_type()) : "undefined",
                            image.defined() ? fmt::format("{}", image.sizes().vec()) : ""));
  }
  if (height < 1 || width < 1) {
    throw Error(fmt::format("{}: the target size {}x{} (height x width) must be positive",
                            function, height, width));
  }
}

// Python's round(), so sizes match the reference scripts' int(round(...)).
std::int64_t python_round(double value) { return std::llround(std::nearbyint(value)); }

}  // namespace

at::Tensor resize(const at::Tensor& image, int height, int width, const std::string& mode,
                  bool antialias) {
  check_arguments("resize", image, height, width);
  const std::vector<std::int64_t> size_values{height, width};
  const at::IntArrayRef size(size_values);
  const at::Tensor batch = image.unsqueeze(0);
  const bool shrinks = height < image.size(1) || width < image.size(2);
  at::Tensor out;
  if (mode == "bilinear") {
    out = antialias && shrinks ? at::_upsample_bilinear2d_aa(batch, size, false)
                               : at::upsample_bilinear2d(batch, size, false);
  } else if (mode == "bicubic") {
    out = antialias && shrinks ? at::_upsample_bicubic2d_aa(batch, size, false)
                               : at::upsample_bicubic2d(batch, size, false);
  } else if (mode == "nearest") {
    out = at::upsample_nearest2d(batch, size);
  } else if (mode == "area") {
    out = at::adaptive_avg_pool2d(batch, size);
  } else {
    throw Error(fmt::format("resize: unknown interpolation mode '{}'; expected one of "
                            "bilinear, bicubic, nearest, area",
                            mode));
  }
  return out.squeeze(0);
}

at::Tensor center_crop_resize(const at::Tensor& image, int height, int width,
                              const std::string& mode) {
  check_arguments("center_crop_resize", image, height, width);
  const std::int64_t in_height = image.size(1), in_width = image.size(2);
  const double scale = std::max(static_cast<double>(height) / in_height,
                                static_cast<double>(width) / in_width);
  const std::int64_t scaled_height = std::max<std::int64_t>(height, python_round(in_height * scale));
  const std::int64_t scaled_width = std::max<std::int64_t>(width, python_round(in_width * scale));
  at::Tensor scaled = image;
  if (scaled_height != in_height || scaled_width != in_width) {
    scaled = resize(image, static_cast<int>(scaled_height), static_cast<int>(scaled_width), mode);
  }
  const std::int64_t top = (scaled_height - height) / 2;
  const std::int64_t left = (scaled_width - width) / 2;
  return scaled.narrow(1, top, height).narrow(2, left, width).contiguous();
}

at::Tensor pad_resize(const at::Tensor& image, int height, int width, const std::string& where,
                      const std::string& mode) {
  check_arguments("pad_resize", image, height, width);
  if (where != "center" && where != "right") {
    throw Error(fmt::format("pad_resize: unknown placement '{}'; expected center or right",
                            where));
  }
  const std::int64_t in_height = image.size(1), in_width = image.size(2);
  const double scale = std::min(static_cast<double>(height) / in_height,
                                static_cast<double>(width) / in_width);
  const std::int64_t fit_height =
      std::clamp<std::int64_t>(python_round(in_height * scale), 1, height);
  const std::int64_t fit_width = std::clamp<std::int64_t>(python_round(in_width * scale), 1, width);
  at::Tensor fitted = image;
  if (fit_height != in_height || fit_width != in_width) {
    fitted = resize(image, static_cast<int>(fit_height), static_cast<int>(fit_width), mode);
  }
  const std::int64_t top = where == "center" ? (height - fit_height) / 2 : 0;
  const std::int64_t left = where == "center" ? (width - fit_width) / 2 : 0;
  // constant_pad_nd takes (left, right, top, bottom) for the last two dimensions.
  return at::constant_pad_nd(fitted,
                             {left, width - fit_width - left, top, height - fit_height - top},
                             -1.0);
}

}  // namespace omni
