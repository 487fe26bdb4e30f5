#pragma once
// diffusers' AutoencoderKL (the Flux VAE): images in [-1, 1] <-> latents, with optional
// tiling for large images. Parameter names mirror a diffusers `vae/` folder.
#include <filesystem>
#include <optional>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "flux_kontext/vae/vae_blocks.hpp"
#include "flux_kontext/vae/vae_config.hpp"
#include "flux_kontext/vae/vae_tiling.hpp"

namespace flux_kontext {

// The encoder's diagonal Gaussian over latents (diffusers DiagonalGaussianDistribution).
struct LatentDistribution {
  at::Tensor mean;    // [B, latent_channels, h, w]
  at::Tensor logvar;  // clamped to [-30, 20]

  // mean + exp(logvar / 2) * N(0, 1), drawn from `generator` (the default one when empty).
  at::Tensor sample(std::optional<at::Generator> generator = std::nullopt) const;
};

class AutoencoderKLImpl : public torch::nn::Module {
 public:
  explicit AutoencoderKLImpl(const VaeConfig& config);

  const VaeConfig& config() const { return config_; }

  // Images [B, in_channels, H, W] in [-1, 1], H and W multiples of the spatial scale. Runs
  // tiled when tiling is on and the image exceeds the tile. Input is cast to the weights'
  // dtype and device.
  LatentDistribution encode(const at::Tensor& images);
  // Unnormalized latents [B, latent_channels, h, w] -> images [B, out_channels, h*s, w*s].
  at::Tensor decode(const at::Tensor& latents);

  // What the diffusion model sees: (z - shift_factor) * scaling_factor, and back.
  at::Tensor normalize(const at::Tensor& latents) const;
  at::Tensor denormalize(const at::Tensor& latents) const;

  void set_tiling(const VaeTiling& tiling);  // validated against the config; throws omni::Error
  const VaeTiling& tiling() const { return tiling_; }

  VaeEncoder encoder{nullptr};
  VaeDecoder decoder{nullptr};
  torch::nn::Conv2d quant_conv{nullptr};       // null unless use_quant_conv
  torch::nn::Conv2d post_quant_conv{nullptr};  // null unless use_post_quant_conv

 private:
  at::Tensor encode_moments(const at::Tensor& images);  // one tile, or the whole image
  at::Tensor decode_latents(const at::Tensor& latents);
  std::int64_t tile_sample_size() const;

  VaeConfig config_;
  VaeTiling tiling_;
};
TORCH_MODULE(AutoencoderKL);

struct VaeLoadOptions {
  std::optional<c10::ScalarType> dtype;  // none keeps the checkpoint's (fp32 for the fixtures)
  c10::Device device = c10::Device(c10::kCPU);
};

// Builds the VAE from `vae_folder`/config.json and loads its safetensors weights strictly
// (every tensor used, every shape checked). The module is returned in eval mode with
// gradients off for its parameters: the VAE is never trained here.
AutoencoderKL load_autoencoder_kl(const std::filesystem::path& vae_folder,
                                  const VaeLoadOptions& options = {});

}  // namespace flux_kontext
