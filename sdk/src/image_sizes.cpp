#include "omni/image_sizes.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <fmt/format.h>

#include "omni/error.hpp"

namespace omni {
namespace {

void check_positive(const char* function, long long height, long long width,
                    long long multiple) {
  if (height <= 0 || width <= 0 || multiple <= 0) {
    throw Error(fmt::format("{}: height {}, width {} and multiple {} must all be positive",
                            function, height, width, multiple));
  }
}

int floor_to_multiple(long long value, int multiple) {
  return static_cast<int>(std::max<long long>(value / multiple * multiple, multiple));
}

// Python's round(): halves go to the even neighbour (nearbyint in the default rounding mode).
long long python_round(double value) { return std::llround(std::nearbyint(value)); }

}  // namespace

ImageSize snap_to_multiple(int height, int width, int multiple) {
  check_positive("snap_to_multiple", height, width, multiple);
  return {floor_to_multiple(width, multiple), floor_to_multiple(height, multiple)};
}

ImageSize size_for_pixel_budget(int height, int width, long long pixels, int multiple) {
  check_positive("size_for_pixel_budget", height, width, multiple);
  if (pixels <= 0) {
    throw Error(fmt::format("size_for_pixel_budget: the pixel budget {} must be positive",
                            pixels));
  }
  const double aspect = static_cast<double>(width) / height;
  const double budget = static_cast<double>(pixels);
  return {floor_to_multiple(python_round(std::sqrt(budget * aspect)), multiple),
          floor_to_multiple(python_round(std::sqrt(budget / aspect)), multiple)};
}

}  // namespace omni
