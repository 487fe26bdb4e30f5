#pragma once
// Multimodal rotary positions (M-RoPE) of the Qwen2.5-VL decoder: upstream's get_rope_index
// for text and still images, and the cos/sin tables that mrope_section splits over the
// temporal, height and width ids.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "qwen_vl/qwen_vl_config.hpp"

namespace qwen_vl {

struct RopeIndex {
  at::Tensor position_ids;  // int64 [3, batch, length]: temporal, height, width ids
  at::Tensor rope_deltas;   // int64 [batch, 1]: max id + 1 - length
};

// input_ids int64 [batch, length] (no padding); image_grid_thw int64 [images, 3] for the
// images in the order their <|vision_start|> <|image_pad|>... blocks appear (may be undefined
// for text only). A text token at running position p gets (p, p, p); an image with merged grid
// h' x w' starting at p gives merged token (i, j) the ids (p, p + i, p + j), after which
// p advances by max(h', w').
RopeIndex rope_index(const at::Tensor& input_ids, const at::Tensor& image_grid_thw,
                     const QwenVlConfig& config);

// cos and sin [batch, length, head_dim] (float32) for position_ids [3, batch, length]:
// frequency j uses the axis that mrope_section assigns to it, duplicated for both halves.
std::pair<at::Tensor, at::Tensor> mrope_cos_sin(const at::Tensor& position_ids,
                                                const QwenTextConfig& config);

}  // namespace qwen_vl
