#include "qwen_vl/qwen_image_processor.hpp"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/image_transforms.hpp"
#include "omni/json_config.hpp"

namespace qwen_vl {

QwenImageProcessorConfig QwenImageProcessorConfig::from_folder(
    const std::filesystem::path& folder) {
  QwenImageProcessorConfig config;
  const std::filesystem::path file = folder / "preprocessor_config.json";
  if (!std::filesystem::exists(file)) return config;
  const omni::JsonConfig json = omni::JsonConfig::read(file);
  config.patch_size = json.get<std::int64_t>("patch_size", config.patch_size);
  config.temporal_patch_size =
      json.get<std::int64_t>("temporal_patch_size", config.temporal_patch_size);
  config.merge_size = json.get<std::int64_t>("merge_size", config.merge_size);
  if (json.has("size") && json.json().at("size").is_object()) {
    const omni::JsonConfig size(json.json().at("size"), file.string() + ": size");
    config.min_pixels = size.get<std::int64_t>("shortest_edge", config.min_pixels);
    config.max_pixels = size.get<std::int64_t>("longest_edge", config.max_pixels);
  }
  config.min_pixels = json.get<std::int64_t>("min_pixels", config.min_pixels);
  config.max_pixels = json.get<std::int64_t>("max_pixels", config.max_pixels);
  for (const char* key : {"image_mean", "image_std"}) {
    if (!json.has(key)) continue;
    const auto values = json.get<std::vector<double>>(key);
    if (values.size() != 3) json.fail(key, fmt::format("expected 3 values, got {}", values.size()));
    auto& target = std::string(key) == "image_mean" ? config.image_mean : config.image_std;
    std::copy(values.begin(), values.end(), target.begin());
  }
  for (double value : config.image_std) {
    if (!(value > 0)) json.fail("image_std", "expected values > 0");
  }
  if (config.patch_size <= 0 || config.temporal_patch_size <= 0 || config.merge_size <= 0) {
    json.fail("patch_size", "expected positive patch_size, temporal_patch_size and merge_size");
  }
  if (config.min_pixels <= 0 || config.max_pixels < config.min_pixels) {
    json.fail("max_pixels", fmt::format("expected 0 < min_pixels <= max_pixels, got {} and {}",
                                        config.min_pixels, config.max_pixels));
  }
  return config;
}

omni::ImageSize smart_resize(int height, int width, std::int64_t factor, std::int64_t min_pixels,
                             std::int64_t max_pixels) {
  if (height < factor || width < factor) {
    throw omni::Error(fmt::format("image of {}x{} pixels (width x height) is too small for the "
                                  "VLM: each side must be at least {} pixels",
                                  width, height, factor));
  }
  if (static_cast<double>(std::max(height, width)) / std::min(height, width) > 200) {
    throw omni::Error(fmt::format("image of {}x{} pixels (width x height): the aspect ratio must "
                                  "be below 200", width, height));
  }
  const double f = static_cast<double>(factor);
  // Python's round() rounds halves to even, as nearbyint does in the default rounding mode.
  double h_bar = std::nearbyint(height / f) * f;
  double w_bar = std::nearbyint(width / f) * f;
  if (h_bar * w_bar > static_cast<double>(max_pixels)) {
    const double beta = std::sqrt(static_cast<double>(height) * width / max_pixels);
    h_bar = std::max(f, std::floor(height / beta / f) * f);
    w_bar = std::max(f, std::floor(width / beta / f) * f);
  } else if (h_bar * w_bar < static_cast<double>(min_pixels)) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / (static_cast<double>(height) * width));
    h_bar = std::ceil(height * beta / f) * f;
    w_bar = std::ceil(width * beta / f) * f;
  }
  return omni::ImageSize{static_cast<int>(w_bar), static_cast<int>(h_bar)};
}

at::Tensor image_to_rgb_tensor(const omni::Image& image) {
  if (image.width <= 0 || image.height <= 0 || image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * image.channels) {
    throw omni::Error(fmt::format("image of {}x{}x{} holds {} bytes; expected width * height * "
                                  "channels with 1 to 4 channels",
                                  image.width, image.height, image.channels, image.pixels.size()));
  }
  at::Tensor pixels =
      at::from_blob(const_cast<std::uint8_t*>(image.pixels.data()),
                    {image.height, image.width, image.channels}, at::kByte)
          .clone();
  if (image.channels <= 2) return pixels.narrow(2, 0, 1).expand({-1, -1, 3}).contiguous();
  return pixels.narrow(2, 0, 3).contiguous();
}

at::Tensor patchify_image(const at::Tensor& rgb_u8, const QwenImageProcessorConfig& config) {
  const std::int64_t block = config.patch_size * config.merge_size;
  if (rgb_u8.dim() != 3 || rgb_u8.size(2) != 3 || rgb_u8.scalar_type() != at::kByte ||
      rgb_u8.size(0) % block != 0 || rgb_u8.size(1) % block != 0) {
    throw omni::Error(fmt::format("Qwen image processor: expected a u8 [H, W, 3] image with "
                                  "sides that are multiples of {}, got {} {}",
                                  block, c10::toString(rgb_u8.scalar_type()),
                                  c10::str(rgb_u8.sizes())));
  }
  // Upstream rescales in float64 and rounds to float32, then normalizes in float32.
  at::Tensor x = (rgb_u8.to(at::kDouble) * (1.0 / 255.0)).to(at::kFloat).permute({2, 0, 1});
  at::Tensor mean = at::tensor(std::vector<double>(config.image_mean.begin(), config.image_mean.end()))
                        .to(at::kFloat).view({3, 1, 1});
  at::Tensor std = at::tensor(std::vector<double>(config.image_std.begin(), config.image_std.end()))
                       .to(at::kFloat).view({3, 1, 1});
  x = (x - mean) / std;  // [C, H, W]
  const std::int64_t T = config.temporal_patch_size, P = config.patch_size,
                     M = config.merge_size;
  const std::int64_t gh = x.size(1) / P, gw = x.size(2) / P;
  // A still image repeats its frame to fill the temporal patch.
  at::Tensor frames = x.unsqueeze(0).expand({T, 3, x.size(1), x.size(2)});
  // [T, C, gh/M, M, P, gw/M, M, P] -> [gh/M, gw/M, M(iy), M(ix), C, T, P(py), P(px)]
  at::Tensor patches = frames.reshape({T, 3, gh / M, M, P, gw / M, M, P})
                           .permute({2, 5, 3, 6, 1, 0, 4, 7});
  return patches.reshape({gh * gw, 3 * T * P * P}).contiguous();
}

ProcessedImages preprocess_images(const std::vector<omni::Image>& images,
                                  const QwenImageProcessorConfig& config) {
  if (images.empty()) throw omni::Error("Qwen image processor: no images given");
  std::vector<at::Tensor> rows;
  std::vector<std::int64_t> grids;
  const std::int64_t factor = config.patch_size * config.merge_size;
  for (std::size_t i = 0; i < images.size(); ++i) {
    at::Tensor rgb = image_to_rgb_tensor(images[i]);
    omni::ImageSize size;
    try {
      size = smart_resize(images[i].height, images[i].width, factor, config.min_pixels,
                          config.max_pixels);
    } catch (const omni::Error& error) {
      throw omni::Error(fmt::format("image {}: {}", i, error.what()));
    }
    if (size.height != images[i].height || size.width != images[i].width) {
      // PIL's bicubic resize of the u8 image: antialiased, rounded and clamped back to u8.
      at::Tensor resized = omni::resize(rgb.permute({2, 0, 1}).to(at::kFloat), size.height,
                                        size.width, "bicubic", /*antialias=*/true);
      rgb = resized.round().clamp(0, 255).to(at::kByte).permute({1, 2, 0}).contiguous();
    }
    rows.push_back(patchify_image(rgb, config));
    grids.insert(grids.end(), {1, size.height / config.patch_size, size.width / config.patch_size});
  }
  ProcessedImages out;
  out.pixel_values = at::cat(rows, 0);
  out.image_grid_thw =
      at::tensor(grids, at::kLong).view({static_cast<std::int64_t>(images.size()), 3});
  return out;
}

}  // namespace qwen_vl
