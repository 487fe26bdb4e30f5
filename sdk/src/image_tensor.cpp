#include "omni/image_tensor.hpp"

#include <cstring>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/error.hpp"

namespace omni {
namespace {

// [H, W, C] uint8 viewing the image's bytes; callers copy before the image can go away.
at::Tensor view_pixels(const Image& image, const char* function) {
  if (image.width <= 0 || image.height <= 0 || image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != std::size_t(image.width) * image.height * image.channels) {
    throw Error(fmt::format("{}: the image is {}x{} with {} channels and {} bytes of pixels; "
                            "expected a positive size, 1 to 4 channels and width * height * "
                            "channels bytes",
                            function, image.width, image.height, image.channels,
                            image.pixels.size()));
  }
  return at::from_blob(const_cast<std::uint8_t*>(image.pixels.data()),
                       {image.height, image.width, image.channels}, at::kByte);
}

}  // namespace

at::Tensor image_to_tensor(const Image& image) {
  const at::Tensor pixels = view_pixels(image, "image_to_tensor");
  const at::Tensor color = image.channels >= 3 ? pixels.narrow(2, 0, 3)
                                               : pixels.narrow(2, 0, 1).expand({-1, -1, 3});
  // The same operations, in the same order, as diffusers' pil_to_numpy + normalize.
  return color.permute({2, 0, 1}).to(at::kFloat).div(255.0).mul(2.0).sub(1.0).contiguous();
}

at::Tensor image_to_mask(const Image& image) {
  const at::Tensor pixels = view_pixels(image, "image_to_mask");
  at::Tensor gray;
  if (image.channels >= 3) {
    // PIL's L = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16, in integers.
    const at::Tensor rgb = pixels.narrow(2, 0, 3).to(at::kInt);
    const at::Tensor weights = at::tensor({19595, 38470, 7471}, at::kInt);
    gray = (rgb.mul(weights).sum({2}, /*keepdim=*/false, at::kInt) + 0x8000).div(65536, "floor");
  } else {
    gray = pixels.select(2, 0);
  }
  return gray.to(at::kFloat).div(255.0).unsqueeze(0).contiguous();
}

Image tensor_to_image(const at::Tensor& tensor) {
  if (!tensor.defined() || tensor.dim() != 3 || tensor.size(0) != 3 ||
      !at::isFloatingType(tensor.scalar_type()) || tensor.size(1) <= 0 || tensor.size(2) <= 0) {
    throw Error(fmt::format("tensor_to_image: expected a floating [3, H, W] tensor in [-1, 1], "
                            "got {} {}",
                            tensor.defined() ? c10::toString(tensor.scalar_type()) : "undefined",
                            tensor.defined() ? fmt::format("{}", tensor.sizes().vec()) : ""));
  }
  const at::Tensor bytes = tensor.detach()
                               .to(at::kCPU, at::kFloat)
                               .div(2.0)
                               .add(0.5)
                               .clamp(0.0, 1.0)
                               .mul(255.0)
                               .round()
                               .to(at::kByte)
                               .permute({1, 2, 0})
                               .contiguous();
  Image image;
  image.height = static_cast<int>(tensor.size(1));
  image.width = static_cast<int>(tensor.size(2));
  image.channels = 3;
  image.pixels.resize(static_cast<std::size_t>(bytes.numel()));
  std::memcpy(image.pixels.data(), bytes.data_ptr(), image.pixels.size());
  return image;
}

}  // namespace omni
