#include "flux_kontext/vae/autoencoder_kl.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/error.hpp"
#include "omni/safetensors.hpp"
#include "omni/weight_loading.hpp"

namespace flux_kontext {

at::Tensor LatentDistribution::sample(std::optional<at::Generator> generator) const {
  const at::Tensor noise =
      at::randn(mean.sizes(), generator ? c10::optional<at::Generator>(*generator) : c10::nullopt,
                mean.options());
  return mean + at::exp(0.5 * logvar) * noise;
}

AutoencoderKLImpl::AutoencoderKLImpl(const VaeConfig& config) : config_(config) {
  encoder = register_module("encoder", VaeEncoder(config));
  decoder = register_module("decoder", VaeDecoder(config));
  const std::int64_t latent = config.latent_channels;
  if (config.use_quant_conv) {
    quant_conv = register_module(
        "quant_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * latent, 2 * latent, 1)));
  }
  if (config.use_post_quant_conv) {
    post_quant_conv = register_module(
        "post_quant_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(latent, latent, 1)));
  }
}

std::int64_t AutoencoderKLImpl::tile_sample_size() const {
  return tiling_.tile_sample_size > 0 ? tiling_.tile_sample_size : config_.sample_size;
}

void AutoencoderKLImpl::set_tiling(const VaeTiling& tiling) {
  const std::int64_t tile = tiling.tile_sample_size > 0 ? tiling.tile_sample_size
                                                        : config_.sample_size;
  const std::int64_t scale = config_.spatial_scale();
  if (tile % scale != 0) {
    throw omni::Error(fmt::format("VAE tiling: the tile size {} px must be a multiple of the "
                                  "VAE's spatial scale {}",
                                  tile, scale));
  }
  if (!(tiling.overlap_factor >= 0.0 && tiling.overlap_factor < 0.5)) {
    throw omni::Error(fmt::format("VAE tiling: the overlap factor must be in [0, 0.5), got {}",
                                  tiling.overlap_factor));
  }
  // Tiles advance by a whole number of latent pixels and keep a whole number of them, so the
  // overlap must be one too (with overlap 0.25: a tile multiple of 4 * scale).
  const double overlap_latents = static_cast<double>(tile / scale) * tiling.overlap_factor;
  if (overlap_latents != static_cast<double>(static_cast<std::int64_t>(overlap_latents)) ||
      tile / scale - static_cast<std::int64_t>(overlap_latents) < 1) {
    throw omni::Error(fmt::format("VAE tiling: a tile of {} px with overlap {} overlaps by {} "
                                  "latent pixels; choose a tile size whose overlap is a whole "
                                  "number of latent pixels (a multiple of {} px with overlap "
                                  "0.25)",
                                  tile, tiling.overlap_factor, overlap_latents, 4 * scale));
  }
  tiling_ = tiling;
}

at::Tensor AutoencoderKLImpl::encode_moments(const at::Tensor& images) {
  at::Tensor moments = encoder(images);
  if (quant_conv) moments = quant_conv(moments);
  return moments;
}

at::Tensor AutoencoderKLImpl::decode_latents(const at::Tensor& latents) {
  return decoder(post_quant_conv ? post_quant_conv(latents) : latents);
}

namespace {

void check_image_batch(const at::Tensor& tensor, std::int64_t channels, std::int64_t multiple,
                       const char* what) {
  if (tensor.dim() != 4 || tensor.size(1) != channels || tensor.size(2) % multiple != 0 ||
      tensor.size(3) % multiple != 0 || tensor.size(2) == 0 || tensor.size(3) == 0) {
    throw omni::Error(fmt::format("AutoencoderKL: expected {} of shape [batch, {}, H, W] with H "
                                  "and W positive multiples of {}, got {}",
                                  what, channels, multiple, fmt::join(tensor.sizes(), "x")));
  }
}

}  // namespace

LatentDistribution AutoencoderKLImpl::encode(const at::Tensor& images) {
  check_image_batch(images, config_.in_channels, config_.spatial_scale(), "images");
  const at::Tensor& weight = encoder->conv_in->weight;
  const at::Tensor input = images.to(weight.device(), weight.scalar_type());
  const std::int64_t tile = tile_sample_size();
  at::Tensor moments;
  if (tiling_.enabled && (input.size(2) > tile || input.size(3) > tile)) {
    const TileGeometry geometry{tile, tile / config_.spatial_scale(), tiling_.overlap_factor};
    moments = apply_tiled(input, geometry, [this](const at::Tensor& t) { return encode_moments(t); });
  } else {
    moments = encode_moments(input);
  }
  std::vector<at::Tensor> halves = moments.chunk(2, 1);
  return LatentDistribution{halves[0], at::clamp(halves[1], -30.0, 20.0)};
}

at::Tensor AutoencoderKLImpl::decode(const at::Tensor& latents) {
  check_image_batch(latents, config_.latent_channels, 1, "latents");
  const at::Tensor& weight = decoder->conv_in->weight;
  const at::Tensor input = latents.to(weight.device(), weight.scalar_type());
  const std::int64_t tile = tile_sample_size() / config_.spatial_scale();
  if (tiling_.enabled && (input.size(2) > tile || input.size(3) > tile)) {
    const TileGeometry geometry{tile, tile_sample_size(), tiling_.overlap_factor};
    return apply_tiled(input, geometry, [this](const at::Tensor& t) { return decode_latents(t); });
  }
  return decode_latents(input);
}

at::Tensor AutoencoderKLImpl::normalize(const at::Tensor& latents) const {
  return (latents - config_.shift_factor) * config_.scaling_factor;
}

at::Tensor AutoencoderKLImpl::denormalize(const at::Tensor& latents) const {
  return latents / config_.scaling_factor + config_.shift_factor;
}

AutoencoderKL load_autoencoder_kl(const std::filesystem::path& vae_folder,
                                  const VaeLoadOptions& options) {
  AutoencoderKL vae(VaeConfig::load(vae_folder));
  const std::shared_ptr<const omni::TensorSource> source = omni::TensorSource::open(vae_folder);
  omni::WeightLoadOptions load;
  load.dtype = options.dtype;
  load.device = options.device;
  omni::load_weights(*vae, *source, load);
  vae->eval();
  for (at::Tensor& parameter : vae->parameters()) parameter.requires_grad_(false);
  return vae;
}

}  // namespace flux_kontext
