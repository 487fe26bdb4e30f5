#pragma once
#include <cstdint>
#include <vector>

namespace omni {

// An 8-bit image, rows top to bottom, channels interleaved (RGB or RGBA).
struct Image {
  int width = 0;
  int height = 0;
  int channels = 3;
  std::vector<std::uint8_t> pixels;  // height * width * channels bytes
};

// A size in pixels. Named fields because image code mixes (h, w) tensor order with (w, h)
// file and PIL order; positional pairs invite swaps.
struct ImageSize {
  int width = 0;
  int height = 0;
};

constexpr bool operator==(const ImageSize& a, const ImageSize& b) {
  return a.width == b.width && a.height == b.height;
}
constexpr bool operator!=(const ImageSize& a, const ImageSize& b) { return !(a == b); }

}  // namespace omni
