#pragma once
// Flux's 3-axis rotary position embedding (diffusers FluxPosEmbed, theta 10000). Each token
// has an id triple (image index, row, column); axis a rotates `axes_dims[a]` channels of every
// head by angles id[a] * theta^(-2i / axes_dims[a]). Channel pairs are adjacent (2i, 2i+1),
// diffusers' repeat_interleave_real layout.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>


namespace flux_kontext {

// cos and sin of the rotation angles, fp32 [tokens, head_dim / 2] (one angle per channel
// pair; upstream repeats each twice, which carries no information).
struct RotaryEmbedding {
  at::Tensor cos;
  at::Tensor sin;
};

// `ids` [tokens, axes]. Angles are computed in fp64 and rounded to fp32 as upstream does.
RotaryEmbedding rotary_embedding(const at::Tensor& ids,
                                 const std::vector<std::int64_t>& axes_dims,
                                 double theta = 10000.0);

// Rotates `x` [batch, tokens, heads, head_dim] in fp32; returns x's dtype.
at::Tensor apply_rotary_embedding(const at::Tensor& x,
                                  const RotaryEmbedding& rope);

}  // namespace flux_kontext
