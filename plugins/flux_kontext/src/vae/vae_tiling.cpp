#include "flux_kontext/vae/vae_tiling.hpp"

#include <algorithm>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"

namespace flux_kontext {
namespace {

using at::indexing::Slice;

// Weights y/extent (or 1 - y/extent) for y = 0..extent-1, computed in double like the
// upstream loop and then rounded to `like`'s dtype, shaped to broadcast along `dim`.
at::Tensor ramp(std::int64_t extent, int dim, bool falling, const at::Tensor& like) {
  std::vector<double> values(static_cast<std::size_t>(extent));
  for (std::int64_t y = 0; y < extent; ++y) {
    const double rising = static_cast<double>(y) / static_cast<double>(extent);
    values[static_cast<std::size_t>(y)] = falling ? 1.0 - rising : rising;
  }
  std::vector<std::int64_t> shape(4, 1);
  shape[static_cast<std::size_t>(dim)] = extent;
  return at::tensor(values, at::TensorOptions().dtype(at::kDouble))
      .to(like.options())
      .reshape(shape);
}

at::Tensor blend(const at::Tensor& a, at::Tensor b, std::int64_t extent, int dim) {
  extent = std::min({a.size(dim), b.size(dim), extent});
  if (extent <= 0) return b;
  const at::Tensor a_edge = a.narrow(dim, a.size(dim) - extent, extent);
  at::Tensor b_edge = b.narrow(dim, 0, extent);
  b_edge.copy_(a_edge * ramp(extent, dim, true, b) + b_edge * ramp(extent, dim, false, b));
  return b;
}

}  // namespace

at::Tensor blend_vertical(const at::Tensor& a, at::Tensor b, std::int64_t extent) {
  return blend(a, std::move(b), extent, 2);
}

at::Tensor blend_horizontal(const at::Tensor& a, at::Tensor b, std::int64_t extent) {
  return blend(a, std::move(b), extent, 3);
}

at::Tensor apply_tiled(const at::Tensor& input, const TileGeometry& geometry,
                       const std::function<at::Tensor(const at::Tensor&)>& apply) {
  if (input.dim() != 4) {
    throw omni::Error(fmt::format("tiled VAE pass: expected a [batch, channels, height, width] "
                                  "tensor, got {} dimensions",
                                  input.dim()));
  }
  if (!(geometry.overlap_factor >= 0.0 && geometry.overlap_factor < 1.0)) {
    throw omni::Error(fmt::format("tiled VAE pass: overlap factor must be in [0, 1), got {}",
                                  geometry.overlap_factor));
  }
  // int() truncation as in the upstream implementation, so tile positions agree exactly.
  const auto stride =
      static_cast<std::int64_t>(static_cast<double>(geometry.input_tile) * (1.0 - geometry.overlap_factor));
  const auto extent =
      static_cast<std::int64_t>(static_cast<double>(geometry.output_tile) * geometry.overlap_factor);
  const std::int64_t limit = geometry.output_tile - extent;
  if (geometry.input_tile <= 0 || geometry.output_tile <= 0 || stride <= 0 || limit <= 0) {
    throw omni::Error(fmt::format("tiled VAE pass: tile {} (output {}) with overlap {} makes no "
                                  "progress; use a larger tile",
                                  geometry.input_tile, geometry.output_tile,
                                  geometry.overlap_factor));
  }
  // The crops must tile the output exactly: each tile advances `stride` input pixels, which
  // must be the `limit` output pixels it keeps. Otherwise the stitched result has the wrong
  // size (upstream silently misaligns).
  if (stride * geometry.output_tile != limit * geometry.input_tile) {
    throw omni::Error(fmt::format("tiled VAE pass: tile {} (output {}) with overlap {} does not "
                                  "tile evenly; choose a tile whose overlap is a whole number "
                                  "of latent pixels",
                                  geometry.input_tile, geometry.output_tile,
                                  geometry.overlap_factor));
  }

  const std::int64_t height = input.size(2), width = input.size(3);
  std::vector<std::vector<at::Tensor>> tiles;
  for (std::int64_t i = 0; i < height; i += stride) {
    std::vector<at::Tensor>& row = tiles.emplace_back();
    for (std::int64_t j = 0; j < width; j += stride) {
      const at::Tensor tile = input.index({Slice(), Slice(), Slice(i, i + geometry.input_tile),
                                           Slice(j, j + geometry.input_tile)});
      row.push_back(apply(tile));
    }
  }

  // The blends work in place, in raster order, so a tile blends with neighbours that have
  // already been blended themselves (as upstream does).
  std::vector<at::Tensor> rows;
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    std::vector<at::Tensor> cropped;
    for (std::size_t j = 0; j < tiles[i].size(); ++j) {
      at::Tensor& tile = tiles[i][j];
      if (i > 0) blend_vertical(tiles[i - 1][j], tile, extent);
      if (j > 0) blend_horizontal(tiles[i][j - 1], tile, extent);
      cropped.push_back(tile.index({Slice(), Slice(), Slice(0, limit), Slice(0, limit)}));
    }
    rows.push_back(at::cat(cropped, 3));
  }
  return at::cat(rows, 2);
}

}  // namespace flux_kontext
