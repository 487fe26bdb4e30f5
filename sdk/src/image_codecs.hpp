#pragma once
// What image_io.cpp needs from the per-format files. Decoders work on the whole file in
// memory (data-set images are a few MB) so that truncation is seen as "fewer bytes than the
// format needs" instead of a short read somewhere inside a C library.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <vector>

#include "omni/image.hpp"

namespace omni::detail {

// A guard against corrupt headers asking for absurd allocations: 2^28 pixels is 16384^2,
// far beyond any training resolution.
constexpr std::uint64_t kMaxImagePixels = std::uint64_t{1} << 28;

// "cannot read image '<file>': <what>"
[[noreturn]] void image_error(const std::filesystem::path& file, std::string_view what);

// Throws when width x height is empty or above kMaxImagePixels.
void check_image_dimensions(const std::filesystem::path& file, std::uint64_t width,
                            std::uint64_t height);

bool has_png_signature(const std::uint8_t* bytes, std::size_t size);
bool has_jpeg_signature(const std::uint8_t* bytes, std::size_t size);

Image decode_png(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes);
Image decode_jpeg(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes);

// Sizes from the headers only; `in` is positioned at the start of the file.
ImageSize png_header_size(const std::filesystem::path& file, std::FILE* in);
ImageSize jpeg_header_size(const std::filesystem::path& file, std::FILE* in);

}  // namespace omni::detail
