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

}  // namespace omni
