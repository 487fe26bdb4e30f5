#include "flux_kontext/sampling/kontext_resolutions.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <fmt/format.h>

#include "omni/error.hpp"

namespace flux_kontext {

omni::ImageSize preferred_kontext_size(int height, int width) {
  if (height <= 0 || width <= 0) {
    throw omni::Error(fmt::format("preferred_kontext_size: the image is {}x{}; both sides must be "
                                  "positive",
                                  width, height));
  }
  const double aspect = static_cast<double>(width) / height;
  auto key = [&](const omni::ImageSize& size) {
    return std::make_tuple(std::abs(aspect - static_cast<double>(size.width) / size.height),
                           size.width, size.height);
  };
  return *std::min_element(
      kPreferredKontextResolutions.begin(), kPreferredKontextResolutions.end(),
      [&](const omni::ImageSize& a, const omni::ImageSize& b) { return key(a) < key(b); });
}

}  // namespace flux_kontext
