// JPEG decoding through libturbojpeg (the TurboJPEG 2.x API, which Debian 12 and 13 ship).
#include <turbojpeg.h>

#include <cstring>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "image_codecs.hpp"

namespace omni::detail {
namespace {

namespace fs = std::filesystem;

struct HandleCloser {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using Handle = std::unique_ptr<void, HandleCloser>;

bool is_start_of_frame(int marker) {
  // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
         marker != 0xCC;
}

}  // namespace

bool has_jpeg_signature(const std::uint8_t* bytes, std::size_t size) {
  return size >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

Image decode_jpeg(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
  Handle handle(tjInitDecompress());
  if (!handle) image_error(file, fmt::format("cannot start the JPEG decoder: {}",
                                             tjGetErrorStr2(nullptr)));
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), bytes.data(), bytes.size(), &width, &height,
                          &subsampling, &colorspace) != 0) {
    image_error(file, fmt::format("corrupt JPEG header ({})", tjGetErrorStr2(handle.get())));
  }
  check_image_dimensions(file, static_cast<std::uint64_t>(width),
                         static_cast<std::uint64_t>(height));
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    image_error(file, "CMYK JPEGs are not supported; convert the image to RGB");
  }
  Image image;
  image.width = width;
  image.height = height;
  image.channels = 3;
  image.pixels.resize(std::size_t(width) * height * 3);
  // Warnings matter: libjpeg reports a truncated file as the warning "premature end of
  // JPEG file" and fills the missing rows with grey. STOPONWARNING turns that into a failure.
  if (tjDecompress2(handle.get(), bytes.data(), bytes.size(), image.pixels.data(), width, 0,
                    height, TJPF_RGB, TJFLAG_STOPONWARNING) != 0) {
    const std::string message = tjGetErrorStr2(handle.get());
    if (message.find("Premature end") != std::string::npos) {
      image_error(file, "the JPEG data ends early; the file is truncated");
    }
    image_error(file, fmt::format("corrupt JPEG data ({})", message));
  }
  return image;
}

ImageSize jpeg_header_size(const fs::path& file, std::FILE* in) {
  // Walks the marker segments up to the frame header (SOFn), seeking over the others
  // (EXIF and ICC segments can be large), so only headers are read.
  auto byte = [&]() {
    const int value = std::fgetc(in);
    if (value == EOF) image_error(file, "the JPEG header ends early; the file is truncated");
    return value;
  };
  auto word = [&]() {  // big-endian; two statements keep the bytes in order
    const int high = byte();
    return (high << 8) | byte();
  };
  if (byte() != 0xFF || byte() != 0xD8) image_error(file, "corrupt JPEG data (no SOI marker)");
  while (true) {
    int marker = byte();
    if (marker != 0xFF) image_error(file, "corrupt JPEG data (expected a marker)");
    while (marker == 0xFF) marker = byte();  // fill bytes
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no payload
    if (marker == 0xD9 || marker == 0xDA) {
      image_error(file, "corrupt JPEG data (no frame header before the image data)");
    }
    const int length = word();
    if (length < 2) image_error(file, "corrupt JPEG data (a marker segment is too short)");
    if (is_start_of_frame(marker)) {
      if (length < 7) image_error(file, "corrupt JPEG data (the frame header is too short)");
      byte();  // sample precision
      const int height = word();
      const int width = word();
      // A zero height would be defined later by a DNL marker; libjpeg does not support that.
      check_image_dimensions(file, static_cast<std::uint64_t>(width),
                             static_cast<std::uint64_t>(height));
      return {width, height};
    }
    if (std::fseek(in, length - 2, SEEK_CUR) != 0) {
      image_error(file, "the JPEG header ends early; the file is truncated");
    }
  }
}

}  // namespace omni::detail
