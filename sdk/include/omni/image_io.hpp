#pragma once
// Image files: PNG (libpng) and JPEG (libturbojpeg) reading, PNG writing. The format is
// found from the first bytes, never from the extension. Every failure is an omni::Error
// naming the file; a truncated or corrupt file is an error, never a partly grey image.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "omni/export.hpp"
#include "omni/image.hpp"

namespace omni {

// Decodes a PNG or JPEG file to 8-bit pixels. PNG: palette, gray and 16-bit images become
// RGB, those with transparency (alpha channel or tRNS) RGBA; `channels` says which. JPEG:
// always RGB (gray and YCbCr alike). EXIF orientation is not applied.
OMNI_API Image read_image(const std::filesystem::path& file);

// Width and height from the file's header alone (PNG IHDR, JPEG frame header), for
// bucketing a data set by aspect ratio without decoding it.
OMNI_API ImageSize read_image_size(const std::filesystem::path& file);

// PNG bytes of `image` (1 = gray, 2 = gray + alpha, 3 = RGB, 4 = RGBA channels), for
// TensorBoard image summaries and write_png.
OMNI_API std::vector<std::uint8_t> encode_png(const Image& image);

// Writes `image` as a PNG atomically: a temporary file in the same folder, flushed to disk,
// then renamed over `file`. On failure nothing is left behind and `file` is untouched.
OMNI_API void write_png(const std::filesystem::path& file, const Image& image);

}  // namespace omni
