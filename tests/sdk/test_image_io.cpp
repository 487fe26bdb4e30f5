// image_io: PNG and JPEG files (every PNG colour type the decoder converts, truncated and
// corrupt files, atomic writing), image <-> tensor conversion, resizing, cropping and
// padding, and the resolution helpers checked against diffusers' arithmetic.
#include <png.h>
#include <turbojpeg.h>

#include <fstream>
#include <functional>
#include <random>

#include <ATen/ATen.h>

#include "omni/error.hpp"
#include "omni/image_io.hpp"
#include "omni/image_sizes.hpp"
#include "omni/image_tensor.hpp"
#include "omni/image_transforms.hpp"
#include "test_support.hpp"

#include "test_checks.hpp"

namespace fs = std::filesystem;

namespace {

using omni::test::error_of;
using omni::test::read_file;

std::string as_string(const std::vector<std::uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::vector<std::string> folder_entries(const fs::path& folder) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(folder)) {
    out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

omni::Image noise_image(int width, int height, int channels, unsigned seed = 1) {
  std::mt19937 random(seed);
  omni::Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels.resize(std::size_t(width) * height * channels);
  for (auto& value : image.pixels) value = static_cast<std::uint8_t>(random());
  return image;
}

// A smooth RGB image, which JPEG reproduces closely.
omni::Image gradient_image(int width, int height) {
  omni::Image image;
  image.width = width;
  image.height = height;
  image.channels = 3;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.pixels.push_back(static_cast<std::uint8_t>(x * 255 / (width - 1)));
      image.pixels.push_back(static_cast<std::uint8_t>(y * 255 / (height - 1)));
      image.pixels.push_back(128);
    }
  }
  return image;
}

// PNGs of the kinds our own encoder never writes, through libpng's simplified API.
// `format` is a PNG_FORMAT_* value; `colormap` is used by the *_COLORMAP formats.
void write_png_with_libpng(const fs::path& file, int width, int height, png_uint_32 format,
                           const void* pixels, const void* colormap = nullptr,
                           int colormap_entries = 0) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = format;
  image.colormap_entries = static_cast<png_uint_32>(colormap_entries);
  const int ok = png_image_write_to_file(&image, file.c_str(), 0, pixels, 0, colormap);
  REQUIRE_MESSAGE(ok != 0, image.message);
  png_image_free(&image);
}

std::vector<std::uint8_t> encode_jpeg(const omni::Image& image, int quality, bool gray = false) {
  tjhandle handle = tjInitCompress();
  REQUIRE(handle != nullptr);
  unsigned char* data = nullptr;
  unsigned long size = 0;
  const int result = tjCompress2(handle, image.pixels.data(), image.width, 0, image.height,
                                 gray ? TJPF_GRAY : TJPF_RGB, &data, &size,
                                 gray ? TJSAMP_GRAY : TJSAMP_444, quality, 0);
  REQUIRE_MESSAGE(result == 0, tjGetErrorStr2(handle));
  std::vector<std::uint8_t> out(data, data + size);
  tjFree(data);
  tjDestroy(handle);
  return out;
}

int pixel(const omni::Image& image, int x, int y, int channel) {
  return image.pixels[(std::size_t(y) * image.width + x) * image.channels + channel];
}

// [1, height, width] whose value is the column index (or row index when `rows`).
at::Tensor ramp(int height, int width, bool rows = false) {
  const at::Tensor values = at::arange(rows ? height : width, at::kFloat);
  return (rows ? values.view({1, height, 1}) : values.view({1, 1, width}))
      .expand({1, height, width})
      .contiguous();
}

}  // namespace

TEST_SUITE("image_io") {
  TEST_CASE("PNG round trips RGB and RGBA exactly, in memory and on disk") {
    omni::test::TempDir temp;
    for (int channels : {3, 4}) {
      CAPTURE(channels);
      const omni::Image image = noise_image(37, 19, channels);
      const std::vector<std::uint8_t> bytes = omni::encode_png(image);
      REQUIRE(bytes.size() > 8);
      CHECK(as_string(bytes).substr(1, 3) == "PNG");

      const fs::path file = temp.path() / ("round_trip_" + std::to_string(channels) + ".png");
      omni::write_png(file, image);
      CHECK(read_file(file) == as_string(bytes));
      const omni::Image back = omni::read_image(file);
      CHECK(back.width == 37);
      CHECK(back.height == 19);
      CHECK(back.channels == channels);
      CHECK(back.pixels == image.pixels);
    }
  }

  TEST_CASE("gray PNGs decode to RGB, gray with alpha to RGBA") {
    omni::test::TempDir temp;
    const omni::Image gray = noise_image(5, 3, 1);
    omni::write_png(temp.path() / "gray.png", gray);
    const omni::Image rgb = omni::read_image(temp.path() / "gray.png");
    REQUIRE(rgb.channels == 3);
    for (int y = 0; y < 3; ++y) {
      for (int x = 0; x < 5; ++x) {
        for (int c = 0; c < 3; ++c) CHECK(pixel(rgb, x, y, c) == pixel(gray, x, y, 0));
      }
    }

    const omni::Image gray_alpha = noise_image(4, 4, 2);
    write_png_with_libpng(temp.path() / "ga.png", 4, 4, PNG_FORMAT_GA, gray_alpha.pixels.data());
    const omni::Image rgba = omni::read_image(temp.path() / "ga.png");
    REQUIRE(rgba.channels == 4);
    CHECK(pixel(rgba, 2, 1, 0) == pixel(gray_alpha, 2, 1, 0));
    CHECK(pixel(rgba, 2, 1, 2) == pixel(gray_alpha, 2, 1, 0));
    CHECK(pixel(rgba, 2, 1, 3) == pixel(gray_alpha, 2, 1, 1));
  }

  TEST_CASE("palette PNGs decode to RGB, or RGBA when the palette has transparency") {
    omni::test::TempDir temp;
    const std::uint8_t indices[] = {0, 1, 2, 1, 0, 2};  // 3 x 2
    const std::uint8_t rgb_palette[] = {255, 0, 0, 0, 255, 0, 10, 20, 30};
    write_png_with_libpng(temp.path() / "palette.png", 3, 2, PNG_FORMAT_RGB_COLORMAP, indices,
                          rgb_palette, 3);
    const omni::Image rgb = omni::read_image(temp.path() / "palette.png");
    REQUIRE(rgb.channels == 3);
    CHECK(rgb.pixels == std::vector<std::uint8_t>{255, 0, 0, 0, 255, 0, 10, 20, 30,
                                                  0, 255, 0, 255, 0, 0, 10, 20, 30});

    const std::uint8_t rgba_palette[] = {255, 0, 0, 255, 0, 255, 0, 0, 10, 20, 30, 128};
    write_png_with_libpng(temp.path() / "palette_alpha.png", 3, 2, PNG_FORMAT_RGBA_COLORMAP,
                          indices, rgba_palette, 3);
    const omni::Image rgba = omni::read_image(temp.path() / "palette_alpha.png");
    REQUIRE(rgba.channels == 4);
    CHECK(pixel(rgba, 0, 0, 3) == 255);
    CHECK(pixel(rgba, 1, 0, 3) == 0);
    CHECK(pixel(rgba, 2, 0, 0) == 10);
    CHECK(pixel(rgba, 2, 0, 3) == 128);
  }

  TEST_CASE("16-bit PNGs are scaled to 8 bits") {
    omni::test::TempDir temp;
    // Multiples of 257 map exactly (v * 255 / 65535); 40000 is 155.6, so 155 or 156.
    const std::uint16_t gray16[] = {0, 65535, 257 * 100, 40000};
    write_png_with_libpng(temp.path() / "gray16.png", 2, 2, PNG_FORMAT_LINEAR_Y, gray16);
    const omni::Image image = omni::read_image(temp.path() / "gray16.png");
    REQUIRE(image.channels == 3);
    CHECK(pixel(image, 0, 0, 0) == 0);
    CHECK(pixel(image, 1, 0, 1) == 255);
    CHECK(pixel(image, 0, 1, 2) == 100);
    CHECK(std::abs(pixel(image, 1, 1, 0) - 156) <= 1);

    const std::uint16_t rgb16[] = {65535, 0, 257 * 7, 0, 257 * 200, 65535};
    write_png_with_libpng(temp.path() / "rgb16.png", 2, 1, PNG_FORMAT_LINEAR_RGB, rgb16);
    const omni::Image rgb = omni::read_image(temp.path() / "rgb16.png");
    REQUIRE(rgb.channels == 3);
    CHECK(rgb.pixels == std::vector<std::uint8_t>{255, 0, 7, 0, 200, 255});
  }

  TEST_CASE("JPEGs decode to RGB close to what was encoded") {
    omni::test::TempDir temp;
    const omni::Image image = gradient_image(48, 32);
    const std::vector<std::uint8_t> bytes = encode_jpeg(image, 95);
    // The format comes from the bytes: a JPEG named .png still decodes.
    const fs::path file = temp.write("photo.png", as_string(bytes));
    const omni::Image back = omni::read_image(file);
    REQUIRE(back.width == 48);
    REQUIRE(back.height == 32);
    REQUIRE(back.channels == 3);
    int worst = 0;
    double total = 0;
    for (std::size_t i = 0; i < image.pixels.size(); ++i) {
      const int difference = std::abs(int(back.pixels[i]) - int(image.pixels[i]));
      worst = std::max(worst, difference);
      total += difference;
    }
    CHECK(worst <= 12);
    CHECK(total / image.pixels.size() < 2.0);

    omni::Image gray = noise_image(16, 8, 1);
    std::fill(gray.pixels.begin(), gray.pixels.end(), 77);
    const omni::Image gray_back =
        omni::read_image(temp.write("gray.jpg", as_string(encode_jpeg(gray, 95, true))));
    CHECK(gray_back.channels == 3);
    CHECK(std::abs(pixel(gray_back, 3, 3, 0) - 77) <= 1);
    CHECK(pixel(gray_back, 3, 3, 0) == pixel(gray_back, 3, 3, 2));
  }

  TEST_CASE("truncated files are errors that name the file, never partial images") {
    omni::test::TempDir temp;
    const std::string png = as_string(omni::encode_png(noise_image(64, 64, 3)));
    for (std::size_t keep : {png.size() / 2, png.size() - 12, std::size_t{40}}) {
      CAPTURE(keep);
      const fs::path file = temp.write("cut.png", png.substr(0, keep));
      const std::string message = error_of([&] { omni::read_image(file); });
      CHECK_HAS(message, file.string());
      CHECK_HAS(message, "truncated");
    }

    const std::string jpeg = as_string(encode_jpeg(gradient_image(64, 64), 90));
    const fs::path file = temp.write("cut.jpg", jpeg.substr(0, jpeg.size() / 2));
    const std::string message = error_of([&] { omni::read_image(file); });
    CHECK_HAS(message, file.string());
    CHECK_HAS(message, "truncated");
  }

  TEST_CASE("corrupt data, non-images and missing files are errors that name the file") {
    omni::test::TempDir temp;
    std::string png = as_string(omni::encode_png(noise_image(16, 16, 3)));
    png[png.size() / 2] ^= 0x55;  // inside IDAT: the chunk CRC no longer matches
    const fs::path corrupt = temp.write("corrupt.png", png);
    std::string message = error_of([&] { omni::read_image(corrupt); });
    CHECK_HAS(message, corrupt.string());
    CHECK_HAS(message, "corrupt PNG data");

    // JPEG has no checksums; what libjpeg notices are structural defects, most of them
    // reported as warnings ("Corrupt JPEG data: 97 extraneous bytes before marker 0xd9").
    std::string jpeg = as_string(encode_jpeg(gradient_image(32, 32), 90));
    jpeg.insert(jpeg.size() - 2, std::string(100, '\x12'));  // before the EOI marker
    const fs::path broken_jpeg = temp.write("corrupt.jpg", jpeg);
    message = error_of([&] { omni::read_image(broken_jpeg); });
    CHECK_HAS(message, broken_jpeg.string());
    CHECK_HAS(message, "corrupt JPEG data");
    CHECK_HAS(message, "extraneous bytes");

    const fs::path text = temp.write("notes.png", "just some text, not a picture\n");
    message = error_of([&] { omni::read_image(text); });
    CHECK_HAS(message, text.string());
    CHECK_HAS(message, "not a PNG or JPEG file");
    CHECK_HAS(error_of([&] { omni::read_image_size(text); }), "not a PNG or JPEG file");

    const fs::path empty = temp.write("empty.jpg", "");
    CHECK_HAS(error_of([&] { omni::read_image(empty); }), "empty");

    const fs::path missing = temp.path() / "missing.png";
    message = error_of([&] { omni::read_image(missing); });
    CHECK_HAS(message, missing.string());
    CHECK_HAS(message, "No such file");
    CHECK_HAS(error_of([&] { omni::read_image_size(missing); }), "No such file");
    CHECK_HAS(error_of([&] { omni::read_image(temp.path()); }), "not a regular file");
  }

  TEST_CASE("read_image_size reads only the header") {
    omni::test::TempDir temp;
    const std::string png = as_string(omni::encode_png(noise_image(123, 45, 4)));
    // 40 bytes hold the IHDR chunk but no pixels: decoding fails, the size is there.
    const fs::path png_head = temp.write("head.png", png.substr(0, 40));
    CHECK((omni::read_image_size(png_head) == omni::ImageSize{123, 45}));
    CHECK_HAS(error_of([&] { omni::read_image(png_head); }), "truncated");

    // A JPEG whose frame header comes after a large APP segment, cut after the header.
    const std::string jpeg = as_string(encode_jpeg(gradient_image(50, 30), 90));
    std::string app(2 + 2 + 30000, 'x');
    app[0] = '\xFF';
    app[1] = '\xE1';
    app[2] = static_cast<char>((30002 >> 8) & 0xFF);
    app[3] = static_cast<char>(30002 & 0xFF);
    const std::string with_app = jpeg.substr(0, 2) + app + jpeg.substr(2);
    const fs::path full = temp.write("app.jpg", with_app);
    CHECK((omni::read_image_size(full) == omni::ImageSize{50, 30}));
    CHECK(omni::read_image(full).width == 50);
    const fs::path jpeg_head = temp.write("head.jpg", with_app.substr(0, with_app.size() - 300));
    CHECK((omni::read_image_size(jpeg_head) == omni::ImageSize{50, 30}));
    CHECK_HAS(error_of([&] { omni::read_image_size(temp.write("stub.jpg", "\xFF\xD8\xFF\xE0"));
              }),
              "truncated");
  }

  TEST_CASE("a header that declares a huge image is refused before any pixel is allocated") {
    omni::test::TempDir temp;
    // A PNG whose IHDR says 30000 x 30000 (900 M pixels): refused from the header alone, by
    // the size reader and by the decoder (libpng's own limits or ours, before the buffer).
    std::string png = as_string(omni::encode_png(noise_image(8, 8, 3)));
    for (int offset : {16, 20}) {  // width, height: big-endian after "IHDR"
      png[static_cast<std::size_t>(offset)] = 0;
      png[static_cast<std::size_t>(offset) + 1] = 0;
      png[static_cast<std::size_t>(offset) + 2] = static_cast<char>(30000 >> 8);
      png[static_cast<std::size_t>(offset) + 3] = static_cast<char>(30000 & 0xFF);
    }
    const fs::path huge_png = temp.write("huge.png", png);
    CHECK_HAS(error_of([&] { omni::read_image_size(huge_png); }), "30000x30000 pixels, more than");
    CHECK_HAS(error_of([&] { omni::read_image(huge_png); }), "huge.png");
    // A JPEG whose frame header says 65000 x 65000.
    std::string jpeg = as_string(encode_jpeg(gradient_image(16, 16), 90));
    const std::size_t frame = jpeg.find("\xFF\xC0");
    REQUIRE(frame != std::string::npos);
    for (std::size_t at : {frame + 5, frame + 7}) {  // height, width after length and precision
      jpeg[at] = static_cast<char>(65000 >> 8);
      jpeg[at + 1] = static_cast<char>(65000 & 0xFF);
    }
    const fs::path huge_jpeg = temp.write("huge.jpg", jpeg);
    CHECK_HAS(error_of([&] { omni::read_image_size(huge_jpeg); }), "65000x65000 pixels, more than");
    CHECK_HAS(error_of([&] { omni::read_image(huge_jpeg); }), "65000x65000 pixels, more than");
  }

  TEST_CASE("write_png is atomic: no temporary file left, nothing written on failure") {
    omni::test::TempDir temp;
    const fs::path file = temp.path() / "out.png";
    omni::write_png(file, noise_image(8, 8, 3, 1));
    omni::write_png(file, noise_image(8, 8, 3, 2));  // replaces
    CHECK(folder_entries(temp.path()) == std::vector<std::string>{"out.png"});
    CHECK(omni::read_image(file).pixels == noise_image(8, 8, 3, 2).pixels);

    const fs::path in_missing_folder = temp.path() / "no" / "such" / "folder.png";
    std::string message = error_of([&] { omni::write_png(in_missing_folder, noise_image(4, 4, 3)); });
    CHECK_HAS(message, in_missing_folder.string());
    CHECK(!fs::exists(temp.path() / "no"));

    // An inconsistent image fails before the disk is touched; the old file survives.
    omni::Image broken = noise_image(8, 8, 3, 3);
    broken.pixels.pop_back();
    message = error_of([&] { omni::write_png(file, broken); });
    CHECK_HAS(message, file.string());
    CHECK_HAS(message, "bytes of pixels");
    CHECK(folder_entries(temp.path()) == std::vector<std::string>{"out.png"});
    CHECK(omni::read_image(file).pixels == noise_image(8, 8, 3, 2).pixels);

    broken.channels = 5;
    CHECK_HAS(error_of([&] { omni::encode_png(broken); }), "1 to 4 channels");
  }

  TEST_CASE("image and tensor conversions follow diffusers' scaling and round trip") {
    omni::Image image;
    image.width = 2;
    image.height = 1;
    image.channels = 4;
    image.pixels = {0, 255, 51, 7, 10, 200, 30, 9};
    const at::Tensor tensor = omni::image_to_tensor(image);
    REQUIRE((tensor.sizes() == at::IntArrayRef{3, 1, 2}));
    CHECK((tensor.scalar_type() == at::kFloat));
    CHECK(tensor[0][0][0].item<float>() == -1.0f);
    CHECK(tensor[1][0][0].item<float>() == 1.0f);
    CHECK(tensor[2][0][0].item<float>() == doctest::Approx(51.0 / 255 * 2 - 1).epsilon(1e-6));

    const at::Tensor mask = omni::image_to_mask(image);
    REQUIRE((mask.sizes() == at::IntArrayRef{1, 1, 2}));
    // PIL: (10 * 19595 + 200 * 38470 + 30 * 7471 + 32768) >> 16 = 124.
    CHECK(mask[0][0][1].item<float>() == doctest::Approx(124.0 / 255).epsilon(1e-6));

    omni::Image gray = noise_image(3, 2, 1);
    const at::Tensor gray_tensor = omni::image_to_tensor(gray);
    CHECK((gray_tensor.sizes() == at::IntArrayRef{3, 2, 3}));
    CHECK(at::equal(gray_tensor[0], gray_tensor[2]));
    CHECK(omni::image_to_mask(gray)[0][1][2].item<float>() ==
          doctest::Approx(pixel(gray, 2, 1, 0) / 255.0).epsilon(1e-6));

    const omni::Image rgb = noise_image(17, 9, 3);
    CHECK(omni::tensor_to_image(omni::image_to_tensor(rgb)).pixels == rgb.pixels);
    // Gray stored as RGB gives back the same mask values.
    CHECK(at::allclose(omni::image_to_mask(omni::tensor_to_image(gray_tensor)),
                       omni::image_to_mask(gray)));

    const at::Tensor out_of_range = at::tensor({-3.0f, 2.0f, 0.0f}).view({3, 1, 1});
    CHECK(omni::tensor_to_image(out_of_range).pixels == std::vector<std::uint8_t>{0, 255, 128});
    CHECK_HAS(error_of([&] { omni::tensor_to_image(at::zeros({4, 2, 2})); }), "[3, H, W]");
    CHECK_HAS(error_of([&] { omni::tensor_to_image(at::zeros({3, 2, 2}, at::kInt)); }),
              "[3, H, W]");
    omni::Image empty;
    CHECK_HAS(error_of([&] { omni::image_to_tensor(empty); }), "image_to_tensor");
  }

  TEST_CASE("resize: every mode gives the asked shape; exact values where they are known") {
    const at::Tensor image = at::rand({3, 20, 30}) * 2 - 1;
    for (const char* mode : {"bilinear", "bicubic", "nearest", "area"}) {
      CAPTURE(mode);
      CHECK((omni::resize(image, 7, 11, mode).sizes() == at::IntArrayRef{3, 7, 11}));
      CHECK((omni::resize(image, 40, 45, mode).sizes() == at::IntArrayRef{3, 40, 45}));
      const at::Tensor flat = at::full({3, 20, 30}, 0.25f);
      CHECK(at::allclose(omni::resize(flat, 9, 13, mode), at::full({3, 9, 13}, 0.25f)));
    }
    CHECK((omni::resize(image, 7, 11, "bilinear", false).sizes() == at::IntArrayRef{3, 7, 11}));

    const at::Tensor small = at::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 2, 2});
    const at::Tensor nearest = omni::resize(small, 4, 4, "nearest");
    CHECK(at::equal(nearest[0][0], at::tensor({1.0f, 1.0f, 2.0f, 2.0f})));
    CHECK(at::equal(nearest[0][3], at::tensor({3.0f, 3.0f, 4.0f, 4.0f})));
    const at::Tensor area = omni::resize(nearest, 2, 2, "area");
    CHECK(at::equal(area, small));
    // Bilinear with align_corners=false: the first output pixel of a 2x upscale sits a
    // quarter pixel inside the first input pixel, so it keeps the edge value.
    const at::Tensor bilinear = omni::resize(ramp(1, 2), 1, 4, "bilinear");
    CHECK(at::allclose(bilinear[0][0], at::tensor({0.0f, 0.25f, 0.75f, 1.0f})));

    const std::string message = error_of([&] { omni::resize(image, 8, 8, "lanczos"); });
    CHECK_HAS(message, "'lanczos'");
    CHECK_HAS(message, "bilinear, bicubic, nearest, area");
    CHECK_HAS(error_of([&] { omni::resize(at::zeros({20, 30}), 8, 8); }), "[C, H, W]");
    CHECK_HAS(error_of([&] { omni::resize(image, 0, 8); }), "must be positive");
  }

  TEST_CASE("center_crop_resize covers the target and cuts out the middle") {
    // Same height: no scaling, the middle four of eight columns remain.
    const at::Tensor columns = omni::center_crop_resize(ramp(4, 8), 4, 4);
    REQUIRE((columns.sizes() == at::IntArrayRef{1, 4, 4}));
    CHECK(at::equal(columns[0][2], at::tensor({2.0f, 3.0f, 4.0f, 5.0f})));
    const at::Tensor rows = omni::center_crop_resize(ramp(8, 4, true), 4, 4);
    CHECK(at::equal(rows[0].select(1, 0), at::tensor({2.0f, 3.0f, 4.0f, 5.0f})));
    // Odd excess: the extra column goes at the right.
    CHECK(at::equal(omni::center_crop_resize(ramp(2, 5), 2, 2)[0][0], at::tensor({1.0f, 2.0f})));

    // 8x16 to 4x4: halved to 4x8 first, then the middle.
    const at::Tensor scaled = omni::center_crop_resize(at::rand({3, 8, 16}), 4, 4);
    CHECK((scaled.sizes() == at::IntArrayRef{3, 4, 4}));
    // Upscaling to cover: 10x10 to 30x20 scales by 3.
    CHECK((omni::center_crop_resize(at::rand({3, 10, 10}), 30, 20).sizes() ==
           at::IntArrayRef{3, 30, 20}));
  }

  TEST_CASE("pad_resize fits the image inside and pads with black") {
    const at::Tensor image = at::rand({3, 4, 8}) * 0.5f;  // never -1, so padding is visible
    const at::Tensor centered = omni::pad_resize(image, 8, 8, "center");
    REQUIRE((centered.sizes() == at::IntArrayRef{3, 8, 8}));
    CHECK(at::equal(centered.narrow(1, 2, 4), image));
    CHECK((centered.narrow(1, 0, 2) == -1).all().item<bool>());
    CHECK((centered.narrow(1, 6, 2) == -1).all().item<bool>());

    const at::Tensor right = omni::pad_resize(image, 8, 8, "right");
    CHECK(at::equal(right.narrow(1, 0, 4), image));
    CHECK((right.narrow(1, 4, 4) == -1).all().item<bool>());

    // 20x10 into 16x16: scaled to 16x8, padded left/right by 4.
    const at::Tensor tall = omni::pad_resize(at::rand({3, 20, 10}), 16, 16);
    CHECK((tall.sizes() == at::IntArrayRef{3, 16, 16}));
    CHECK((tall.narrow(2, 0, 4) == -1).all().item<bool>());
    CHECK((tall.narrow(2, 12, 4) == -1).all().item<bool>());
    CHECK((tall.narrow(2, 4, 8) > -1).all().item<bool>());

    CHECK_HAS(error_of([&] { omni::pad_resize(image, 8, 8, "left"); }), "'left'");
  }

  TEST_CASE("snapped and budgeted sizes are multiples of 16 with the source's shape") {
    CHECK((omni::snap_to_multiple(1000, 750) == omni::ImageSize{736, 992}));
    CHECK((omni::snap_to_multiple(10, 5) == omni::ImageSize{16, 16}));
    CHECK((omni::snap_to_multiple(100, 70, 32) == omni::ImageSize{64, 96}));
    CHECK_HAS(error_of([&] { omni::snap_to_multiple(0, 10); }), "must all be positive");

    // FluxKontextPipeline: round(sqrt(1024^2 * 0.75)) = 887 -> 880; round(1182.4) -> 1168.
    CHECK((omni::size_for_pixel_budget(1000, 750, 1024 * 1024) == omni::ImageSize{880, 1168}));
    CHECK((omni::size_for_pixel_budget(512, 512, 1024 * 1024) == omni::ImageSize{1024, 1024}));
    CHECK((omni::size_for_pixel_budget(10, 10000, 256) == omni::ImageSize{496, 16}));
    const long long budget = 1024 * 1024;
    for (int height : {100, 333, 720, 1080, 1500, 4000}) {
      for (int width : {100, 480, 1080, 1920, 3000}) {
        CAPTURE(height);
        CAPTURE(width);
        const omni::ImageSize size = omni::size_for_pixel_budget(height, width, budget);
        CHECK(size.width % 16 == 0);
        CHECK(size.height % 16 == 0);
        const double pixels = double(size.width) * size.height;
        CHECK(pixels <= budget * 1.01);
        CHECK(pixels >= budget * 0.9);
        // Each side is the exact one, rounded, then rounded down to the multiple.
        const double aspect = double(width) / height;
        const double exact_width = std::sqrt(budget * aspect);
        const double exact_height = std::sqrt(budget / aspect);
        CHECK(size.width <= exact_width + 0.5);
        CHECK(size.width > exact_width - 16.5);
        CHECK(size.height <= exact_height + 0.5);
        CHECK(size.height > exact_height - 16.5);
      }
    }
  }
}
