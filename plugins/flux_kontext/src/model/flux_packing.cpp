#include "flux_kontext/model/flux_packing.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/error.hpp"

namespace flux_kontext {

PackedGrid packed_grid(std::int64_t latent_height, std::int64_t latent_width) {
  if (latent_height <= 0 || latent_width <= 0 || latent_height % 2 != 0 || latent_width % 2 != 0) {
    throw omni::Error(fmt::format("Flux packs latents in 2x2 patches: latent size {}x{} must be "
                                  "even and non-empty (images a multiple of 16 pixels)",
                                  latent_height, latent_width));
  }
  return {latent_height / 2, latent_width / 2};
}

at::Tensor pack_latents(const at::Tensor& latents) {
  if (latents.dim() != 4) {
    throw omni::Error(fmt::format("pack_latents: expected [batch, channels, height, width], got "
                                  "{} dimensions",
                                  latents.dim()));
  }
  const std::int64_t batch = latents.size(0), channels = latents.size(1);
  const PackedGrid grid = packed_grid(latents.size(2), latents.size(3));
  return latents.reshape({batch, channels, grid.rows, 2, grid.cols, 2})
      .permute({0, 2, 4, 1, 3, 5})
      .reshape({batch, grid.rows * grid.cols, channels * 4});
}

at::Tensor unpack_latents(const at::Tensor& packed, std::int64_t latent_height,
                          std::int64_t latent_width) {
  const PackedGrid grid = packed_grid(latent_height, latent_width);
  if (packed.dim() != 3 || packed.size(1) != grid.rows * grid.cols || packed.size(2) % 4 != 0) {
    throw omni::Error(fmt::format("unpack_latents: expected [batch, {}, 4 * channels] for a {}x{} "
                                  "latent, got {}",
                                  grid.rows * grid.cols, latent_height, latent_width,
                                  packed.sizes()));
  }
  const std::int64_t batch = packed.size(0), channels = packed.size(2) / 4;
  return packed.reshape({batch, grid.rows, grid.cols, channels, 2, 2})
      .permute({0, 3, 1, 4, 2, 5})
      .reshape({batch, channels, latent_height, latent_width});
}

at::Tensor text_position_ids(std::int64_t tokens) { return at::zeros({tokens, 3}, at::kFloat); }

}  // namespace flux_kontext
