// Reading image files: format detection by signature, then the PNG or JPEG decoder.
#include "omni/image_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "omni/atomic_file.hpp"
#include "image_codecs.hpp"
#include "omni/error.hpp"

namespace omni {
namespace detail {

namespace fs = std::filesystem;

void image_error(const fs::path& file, std::string_view what) {
  throw Error(fmt::format("cannot read image '{}': {}", file.string(), what));
}

void check_image_dimensions(const fs::path& file, std::uint64_t width, std::uint64_t height) {
  if (width == 0 || height == 0) {
    image_error(file, fmt::format("the header says the image is {}x{} pixels", width, height));
  }
  if (width * height > kMaxImagePixels || width > 0x7FFFFFFF || height > 0x7FFFFFFF) {
    image_error(file, fmt::format("the image is {}x{} pixels, more than the {} this reader "
                                  "accepts (a corrupt header?)",
                                  width, height, kMaxImagePixels));
  }
}

}  // namespace detail

namespace {

namespace fs = std::filesystem;
using detail::image_error;

// A compressed image above this is not a training image (and likely not an image at all).
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{1} << 30;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

std::unique_ptr<std::FILE, FileCloser> open_file(const fs::path& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) image_error(file, std::strerror(errno));
  struct stat info {};
  if (::fstat(::fileno(f), &info) != 0 || !S_ISREG(info.st_mode)) {
    std::fclose(f);
    image_error(file, "not a regular file");
  }
  return std::unique_ptr<std::FILE, FileCloser>(f);
}

std::vector<std::uint8_t> read_all(const fs::path& file) {
  auto in = open_file(file);
  struct stat info {};
  ::fstat(::fileno(in.get()), &info);
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size > kMaxFileBytes) {
    image_error(file, fmt::format("the file has {} bytes, more than the {} an image may have",
                                  size, kMaxFileBytes));
  }
  std::vector<std::uint8_t> bytes(size);
  if (size > 0 && std::fread(bytes.data(), 1, size, in.get()) != size) {
    image_error(file, fmt::format("cannot read the file: {}", std::strerror(errno)));
  }
  return bytes;
}

[[noreturn]] void unknown_format(const fs::path& file, const std::uint8_t* head,
                                 std::size_t size) {
  if (size == 0) image_error(file, "the file is empty");
  std::string start;
  for (std::size_t i = 0; i < std::min<std::size_t>(size, 8); ++i) {
    start += fmt::format("{}{:02x}", i == 0 ? "" : " ", head[i]);
  }
  image_error(file, fmt::format("not a PNG or JPEG file (it starts with bytes {})", start));
}

}  // namespace

Image read_image(const fs::path& file) {
  const std::vector<std::uint8_t> bytes = read_all(file);
  if (detail::has_png_signature(bytes.data(), bytes.size())) {
    return detail::decode_png(file, bytes);
  }
  if (detail::has_jpeg_signature(bytes.data(), bytes.size())) {
    return detail::decode_jpeg(file, bytes);
  }
  unknown_format(file, bytes.data(), bytes.size());
}

ImageSize read_image_size(const fs::path& file) {
  auto in = open_file(file);
  std::uint8_t head[8];
  const std::size_t got = std::fread(head, 1, sizeof head, in.get());
  std::rewind(in.get());
  if (detail::has_png_signature(head, got)) return detail::png_header_size(file, in.get());
  if (detail::has_jpeg_signature(head, got)) return detail::jpeg_header_size(file, in.get());
  unknown_format(file, head, got);
}

void write_png(const fs::path& file, const Image& image) {
  // Encoded first, so an invalid image fails before anything touches the disk.
  std::vector<std::uint8_t> bytes;
  try {
    bytes = encode_png(image);
  } catch (const Error& error) {
    throw Error(fmt::format("cannot save PNG image '{}': {}", file.string(), error.what()));
  }
  write_file_atomically(file, bytes.data(), bytes.size(), "PNG image");
}

}  // namespace omni
