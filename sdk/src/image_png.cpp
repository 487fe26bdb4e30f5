// PNG decoding and encoding through libpng.
//
// libpng reports errors by longjmp from its error callback. longjmp skips destructors, so
// the functions below that call setjmp hold only plain C data, and every C++ object (the
// pixel vector, the row pointers, the guard that frees libpng's structs) lives in their
// callers, whose frames longjmp never crosses.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "image_codecs.hpp"
#include "omni/error.hpp"
#include "omni/image_io.hpp"

namespace omni {
namespace detail {
namespace {

namespace fs = std::filesystem;

// libpng's io and error pointer while decoding: the bytes and the reason for a failure.
struct PngReader {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t offset;
  bool truncated;
  char message[256];
};

// The io and error pointer while encoding.
struct PngWriter {
  std::vector<std::uint8_t>* out;
  char message[256];
};

template <typename State>
void on_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<State*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", message);
  png_longjmp(png, 1);
}

// Warnings are about ancillary chunks (odd sRGB profiles, bad text chunks) that do not
// change the pixels; data-set PNGs from the web have plenty of them.
void ignore_warning(png_structp, png_const_charp) {}

void read_from_memory(png_structp png, png_bytep out, png_size_t length) {
  auto* reader = static_cast<PngReader*>(png_get_io_ptr(png));
  if (length > reader->size - reader->offset) {
    reader->truncated = true;
    png_error(png, "unexpected end of data");
  }
  std::memcpy(out, reader->data + reader->offset, length);
  reader->offset += length;
}

void append_to_vector(png_structp png, png_bytep data, png_size_t length) {
  auto* writer = static_cast<PngWriter*>(png_get_io_ptr(png));
  bool stored = true;
  try {
    writer->out->insert(writer->out->end(), data, data + length);
  } catch (const std::bad_alloc&) {
    stored = false;
  }
  // Outside the catch block: longjmp out of a handler would leak the exception object.
  if (!stored) png_error(png, "out of memory while encoding");
}

void flush_nothing(png_structp) {}

struct PngLayout {
  png_uint_32 width;
  png_uint_32 height;
  int channels;
  std::size_t row_bytes;
};

// Reads the header and asks libpng for 8-bit RGB or RGBA rows. False on error.
bool read_layout(png_structp png, png_infop info, PngLayout* layout) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  const int color_type = png_get_color_type(png, info);
  const int bit_depth = png_get_bit_depth(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  // A tRNS chunk (transparent palette entries or a transparent colour key) becomes a real
  // alpha channel, so callers see the transparency as RGBA.
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  // Scaling (v * 255 / 65535, rounded) rather than dropping the low byte, as PIL does.
  if (bit_depth == 16) png_set_scale_16(png);
  if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
    png_set_gray_to_rgb(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  layout->width = png_get_image_width(png, info);
  layout->height = png_get_image_height(png, info);
  layout->channels = png_get_channels(png, info);
  layout->row_bytes = png_get_rowbytes(png, info);
  return true;
}

// Reads all rows and the chunks after them up to IEND, so a file cut anywhere fails.
bool read_rows(png_structp png, png_infop info, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, info);
  return true;
}

bool write_rows(png_structp png, png_infop info, const Image* image, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  static const int kColorTypes[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                    PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
  png_set_IHDR(png, info, static_cast<png_uint_32>(image->width),
               static_cast<png_uint_32>(image->height), 8, kColorTypes[image->channels - 1],
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

class ReadStructs {
 public:
  explicit ReadStructs(PngReader* reader) {
    png_ = png_create_read_struct(PNG_LIBPNG_VER_STRING, reader, on_error<PngReader>,
                                  ignore_warning);
    if (png_ != nullptr) info_ = png_create_info_struct(png_);
    if (png_ == nullptr || info_ == nullptr) {
      png_destroy_read_struct(&png_, &info_, nullptr);
      throw std::bad_alloc();
    }
    png_set_read_fn(png_, reader, read_from_memory);
  }
  ~ReadStructs() { png_destroy_read_struct(&png_, &info_, nullptr); }
  ReadStructs(const ReadStructs&) = delete;
  ReadStructs& operator=(const ReadStructs&) = delete;
  png_structp png() const { return png_; }
  png_infop info() const { return info_; }

 private:
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

class WriteStructs {
 public:
  explicit WriteStructs(PngWriter* writer) {
    png_ = png_create_write_struct(PNG_LIBPNG_VER_STRING, writer, on_error<PngWriter>,
                                   ignore_warning);
    if (png_ != nullptr) info_ = png_create_info_struct(png_);
    if (png_ == nullptr || info_ == nullptr) {
      png_destroy_write_struct(&png_, &info_);
      throw std::bad_alloc();
    }
    png_set_write_fn(png_, writer, append_to_vector, flush_nothing);
  }
  ~WriteStructs() { png_destroy_write_struct(&png_, &info_); }
  WriteStructs(const WriteStructs&) = delete;
  WriteStructs& operator=(const WriteStructs&) = delete;
  png_structp png() const { return png_; }
  png_infop info() const { return info_; }

 private:
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

std::uint32_t big_endian_32(const std::uint8_t* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

}  // namespace

bool has_png_signature(const std::uint8_t* bytes, std::size_t size) {
  static const std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return size >= 8 && std::memcmp(bytes, kSignature, 8) == 0;
}

Image decode_png(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
  PngReader reader{bytes.data(), bytes.size(), 0, false, ""};
  ReadStructs structs(&reader);
  auto fail = [&] {
    if (reader.truncated) image_error(file, "the PNG data ends early; the file is truncated");
    image_error(file, fmt::format("corrupt PNG data ({})", reader.message));
  };
  PngLayout layout{};
  if (!read_layout(structs.png(), structs.info(), &layout)) fail();
  check_image_dimensions(file, layout.width, layout.height);
  if ((layout.channels != 3 && layout.channels != 4) ||
      layout.row_bytes != std::size_t{layout.width} * layout.channels) {
    image_error(file, fmt::format("unsupported PNG layout ({} channels, {} bytes per row)",
                                  layout.channels, layout.row_bytes));
  }
  Image image;
  image.width = static_cast<int>(layout.width);
  image.height = static_cast<int>(layout.height);
  image.channels = layout.channels;
  image.pixels.resize(layout.row_bytes * layout.height);
  std::vector<png_bytep> rows(layout.height);
  for (png_uint_32 y = 0; y < layout.height; ++y) {
    rows[y] = image.pixels.data() + y * layout.row_bytes;
  }
  if (!read_rows(structs.png(), structs.info(), rows.data())) fail();
  return image;
}

ImageSize png_header_size(const fs::path& file, std::FILE* in) {
  // Signature, then the IHDR chunk, which the format requires to come first:
  // length (13), "IHDR", width, height (big-endian), ...
  std::uint8_t head[24];
  if (std::fread(head, 1, sizeof head, in) != sizeof head) {
    image_error(file, "the PNG header ends early; the file is truncated");
  }
  if (!has_png_signature(head, sizeof head) || big_endian_32(head + 8) != 13 ||
      std::memcmp(head + 12, "IHDR", 4) != 0) {
    image_error(file, "corrupt PNG data (the IHDR chunk does not come first)");
  }
  const std::uint32_t width = big_endian_32(head + 16);
  const std::uint32_t height = big_endian_32(head + 20);
  check_image_dimensions(file, width, height);
  return {static_cast<int>(width), static_cast<int>(height)};
}

}  // namespace detail

std::vector<std::uint8_t> encode_png(const Image& image) {
  if (image.width <= 0 || image.height <= 0 || image.channels < 1 || image.channels > 4) {
    throw Error(fmt::format("cannot encode PNG: the image is {}x{} with {} channels; expected "
                            "a positive size and 1 to 4 channels",
                            image.width, image.height, image.channels));
  }
  const std::size_t row_bytes = std::size_t(image.width) * image.channels;
  if (image.pixels.size() != row_bytes * image.height) {
    throw Error(fmt::format("cannot encode PNG: a {}x{} image with {} channels needs {} bytes "
                            "of pixels, it has {}",
                            image.width, image.height, image.channels,
                            row_bytes * image.height, image.pixels.size()));
  }
  std::vector<std::uint8_t> out;
  detail::PngWriter writer{&out, ""};
  detail::WriteStructs structs(&writer);
  std::vector<png_bytep> rows(image.height);
  // libpng's API takes non-const rows but only reads them when writing.
  auto* pixels = const_cast<std::uint8_t*>(image.pixels.data());
  for (int y = 0; y < image.height; ++y) rows[y] = pixels + y * row_bytes;
  if (!detail::write_rows(structs.png(), structs.info(), &image, rows.data())) {
    throw Error(fmt::format("cannot encode PNG: {}", writer.message));
  }
  return out;
}

}  // namespace omni
