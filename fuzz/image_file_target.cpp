// The PNG and JPEG readers: the header-only size read used for bucketing, the full decode,
// and the PNG encoder on what was decoded.
#include <optional>
#include <string>

#include "fuzz_targets.hpp"
#include "omni/error.hpp"
#include "omni/image_io.hpp"

namespace omni::fuzz {

void image_file(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path file = fresh_scratch_folder() / "image";
  write_file(file, std::string_view(reinterpret_cast<const char*>(data), size));

  std::optional<ImageSize> header_size;
  try {
    header_size = read_image_size(file);
    require(header_size->width > 0 && header_size->height > 0,
            "read_image_size returned an empty size instead of refusing the file");
  } catch (const omni::Error&) {
  }

  Image image;
  try {
    image = read_image(file);
  } catch (const omni::Error&) {
    return;
  }
  require(image.width > 0 && image.height > 0, "read_image returned an empty image");
  require(image.channels == 3 || image.channels == 4, "read_image returned " +
                                                          std::to_string(image.channels) +
                                                          " channels; RGB or RGBA promised");
  require(image.pixels.size() == static_cast<std::size_t>(image.width) *
                                     static_cast<std::size_t>(image.height) *
                                     static_cast<std::size_t>(image.channels),
          "the pixel buffer does not hold width x height x channels bytes");
  // Bucketing reads the header, training decodes the file: they must agree on the size.
  require(header_size.has_value(), "read_image decoded a file whose header read_image_size refused");
  require(*header_size == ImageSize{image.width, image.height},
          "read_image_size and read_image disagree on the size");

  // What we decoded we can write, and reading that back gives the same pixels.
  const std::filesystem::path copy = fresh_scratch_folder() / "copy.png";
  write_png(copy, image);
  const Image again = read_image(copy);
  require(again.width == image.width && again.height == image.height &&
              again.channels == image.channels && again.pixels == image.pixels,
          "a decoded image written as PNG reads back differently");
}

}  // namespace omni::fuzz
