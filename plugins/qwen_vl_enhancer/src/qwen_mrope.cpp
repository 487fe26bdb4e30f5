#include "qwen_vl/qwen_mrope.hpp"

#include <algorithm>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"

namespace qwen_vl {

RopeIndex rope_index(const at::Tensor& input_ids, const at::Tensor& image_grid_thw,
                     const QwenVlConfig& config) {
  if (input_ids.dim() != 2) {
    throw omni::Error("Qwen M-RoPE: input_ids must be [batch, length], got " +
                      c10::str(input_ids.sizes()));
  }
  const at::Tensor ids = input_ids.to(at::kCPU, at::kLong).contiguous();
  const std::int64_t batch = ids.size(0), length = ids.size(1);
  at::Tensor grids;
  std::int64_t image_count = 0;
  if (image_grid_thw.defined()) {
    grids = image_grid_thw.to(at::kCPU, at::kLong).contiguous();
    image_count = grids.size(0);
  }
  const std::int64_t m = config.vision.spatial_merge_size;
  at::Tensor positions = at::empty({3, batch, length}, at::kLong);
  at::Tensor deltas = at::empty({batch, 1}, at::kLong);
  auto pos = positions.accessor<std::int64_t, 3>();
  std::int64_t image = 0;  // images are numbered across the batch, as upstream's
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t* row = ids[b].data_ptr<std::int64_t>();
    std::int64_t p = 0, max_id = -1, k = 0;
    while (k < length) {
      const bool image_block =
          row[k] == config.image_token_id && k > 0 && row[k - 1] == config.vision_start_token_id;
      if (!image_block) {
        for (int axis = 0; axis < 3; ++axis) pos[axis][b][k] = p;
        max_id = std::max(max_id, p);
        ++p;
        ++k;
        continue;
      }
      if (image >= image_count) {
        throw omni::Error(fmt::format("Qwen M-RoPE: the prompt has more image blocks than the "
                                      "{} images given", image_count));
      }
      const std::int64_t t = grids[image][0].item<std::int64_t>();
      const std::int64_t h = grids[image][1].item<std::int64_t>() / m;
      const std::int64_t w = grids[image][2].item<std::int64_t>() / m;
      ++image;
      if (k + t * h * w > length) {
        throw omni::Error(fmt::format("Qwen M-RoPE: image {} needs {} <|image_pad|> tokens but the "
                                      "prompt ends after {}", image - 1, t * h * w, length - k));
      }
      for (std::int64_t ti = 0; ti < t; ++ti) {
        for (std::int64_t i = 0; i < h; ++i) {
          for (std::int64_t j = 0; j < w; ++j, ++k) {
            if (row[k] != config.image_token_id) {
              throw omni::Error(fmt::format("Qwen M-RoPE: image {} needs {} consecutive "
                                            "<|image_pad|> tokens (id {}); token {} is {}",
                                            image - 1, t * h * w, config.image_token_id, k, row[k]));
            }
            // Upstream scales the temporal index by the seconds per frame, 0 for images.
            pos[0][b][k] = p;
            pos[1][b][k] = p + i;
            pos[2][b][k] = p + j;
          }
        }
      }
      const std::int64_t span = std::max(h, w);
      max_id = std::max(max_id, p + span - 1);
      p += span;
    }
    deltas[b][0] = max_id + 1 - length;
  }
  if (image != image_count) {
    throw omni::Error(fmt::format("Qwen M-RoPE: {} images given but the prompt has {} image "
                                  "blocks", image_count, image));
  }
  return {positions.to(input_ids.device()), deltas.to(input_ids.device())};
}

std::pair<at::Tensor, at::Tensor> mrope_cos_sin(const at::Tensor& position_ids,
                                                const QwenTextConfig& config) {
  const std::int64_t head_dim = config.head_dim();
  const at::TensorOptions f32 = at::TensorOptions(position_ids.device()).dtype(at::kFloat);
  at::Tensor inv = 1.0 / at::pow(config.rope_theta,
                                 at::arange(0, head_dim, 2, f32.dtype(at::kLong)).to(at::kFloat) /
                                     static_cast<double>(head_dim));
  // angles[axis] = ids[axis] * inv: [3, batch, length, half]
  at::Tensor angles = position_ids.to(at::kFloat).unsqueeze(-1) * inv;
  std::vector<at::Tensor> parts;
  std::int64_t start = 0;
  for (std::size_t axis = 0; axis < config.mrope_section.size(); ++axis) {
    parts.push_back(angles[axis].narrow(-1, start, config.mrope_section[axis]));
    start += config.mrope_section[axis];
  }
  at::Tensor chosen = at::cat(parts, -1);  // [batch, length, half]
  at::Tensor full = at::cat({chosen, chosen}, -1);
  return {full.cos(), full.sin()};
}

}  // namespace qwen_vl
