#pragma once
// Flux sees latents as a sequence of 2x2 patches: [B, C, H, W] <-> [B, (H/2)(W/2), 4C], each
// token's channels ordered (c, dy, dx) and tokens row-major, as diffusers' _pack_latents.
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "flux_kontext/model/position_ids.hpp"

namespace flux_kontext {

// The packed grid of a latent of `height` x `width`; throws omni::Error for odd sizes.
PackedGrid packed_grid(std::int64_t latent_height, std::int64_t latent_width);

at::Tensor pack_latents(const at::Tensor& latents);
// `packed` [B, (H/2)(W/2), 4C] back to [B, C, H, W] for a latent of `latent_height` x
// `latent_width`; throws omni::Error when the token count or channels do not fit.
at::Tensor unpack_latents(const at::Tensor& packed, std::int64_t latent_height,
                          std::int64_t latent_width);

// Position ids of the text tokens: all zeros, [tokens, 3] fp32.
at::Tensor text_position_ids(std::int64_t tokens);

}  // namespace flux_kontext
