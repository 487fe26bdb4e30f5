#pragma once
// Tiled application of the VAE encoder or decoder, so that memory stays bounded by the tile
// size whatever the image size (a 2048 px image through the full Flux VAE otherwise needs
// an attention matrix over 65536 latent pixels). Same scheme as diffusers' AutoencoderKL
// tiled_encode / tiled_decode: tiles overlap by `overlap_factor`; each output tile is blended
// linearly into the one above and the one to its left, then cropped.
#include <cstdint>
#include <functional>

#include <ATen/core/Tensor.h>


namespace flux_kontext {

struct VaeTiling {
  bool enabled = false;
  // Tile edge in image pixels; 0 takes the VAE config's sample_size (diffusers' default).
  // tile * overlap_factor must be a whole number of latent pixels (with overlap 0.25 and
  // Flux's scale 8: a multiple of 32 px), so the tiles' crops meet exactly.
  std::int64_t tile_sample_size = 0;
  double overlap_factor = 0.25;  // fraction of a tile shared with its neighbour
};

// How one tiled pass is laid out, in input and output units.
struct TileGeometry {
  std::int64_t input_tile = 0;   // tile edge in the input (pixels to encode, latents to decode)
  std::int64_t output_tile = 0;  // the same tile's edge in the output
  double overlap_factor = 0.25;
};

// Applies `apply` ([B, C, h, w] -> [B, C', h*k, w*k] with k = output_tile / input_tile) tile
// by tile over the last two dimensions of `input` and stitches the results: tiles start every
// int(input_tile * (1 - overlap)) input pixels, overlapping edges of int(output_tile * overlap)
// output pixels are blended linearly, and every tile is cropped to output_tile - blend.
// Throws omni::Error when the geometry makes no progress (a stride of 0) or when the input
// stride and the kept output width disagree (the crops would not meet).
at::Tensor apply_tiled(const at::Tensor& input, const TileGeometry& geometry,
                       const std::function<at::Tensor(const at::Tensor&)>& apply);

// The two blends, exposed for tests: rows (or columns) 0..extent-1 of `b` become
// a[-extent + y] * (1 - y/extent) + b[y] * (y/extent). They modify `b` in place and return it.
at::Tensor blend_vertical(const at::Tensor& a, at::Tensor b, std::int64_t extent);
at::Tensor blend_horizontal(const at::Tensor& a, at::Tensor b,
                            std::int64_t extent);

}  // namespace flux_kontext
