#include "qwen_vl/qwen_vision_tower.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/torch_compat.hpp"

namespace qwen_vl {
namespace {

// The vision tower's norms use a fixed eps, not the config's rms_norm_eps.
constexpr double vision_norm_eps = 1e-6;
constexpr double vision_rope_theta = 10000.0;

struct Grid {
  std::int64_t t, h, w;
};

std::vector<Grid> read_grids(const at::Tensor& grid_thw, std::int64_t merge_size) {
  if (grid_thw.dim() != 2 || grid_thw.size(1) != 3) {
    throw omni::Error("Qwen vision tower: image_grid_thw must be [images, 3], got " +
                      c10::str(grid_thw.sizes()));
  }
  at::Tensor cpu = grid_thw.to(at::kCPU, at::kLong).contiguous();
  std::vector<Grid> grids;
  for (std::int64_t i = 0; i < cpu.size(0); ++i) {
    Grid g{cpu[i][0].item<std::int64_t>(), cpu[i][1].item<std::int64_t>(),
           cpu[i][2].item<std::int64_t>()};
    if (g.t <= 0 || g.h <= 0 || g.w <= 0 || g.h % merge_size != 0 || g.w % merge_size != 0) {
      throw omni::Error(fmt::format("Qwen vision tower: image {} has grid (t, h, w) = ({}, {}, "
                                    "{}); h and w must be positive multiples of {}",
                                    i, g.t, g.h, g.w, merge_size));
    }
    grids.push_back(g);
  }
  return grids;
}

}  // namespace

VisionWindows vision_windows(const at::Tensor& grid_thw, std::int64_t merge_size,
                             std::int64_t merged_window) {
  const std::int64_t unit = merge_size * merge_size;
  VisionWindows windows;
  windows.window_bounds = {0};
  windows.image_bounds = {0};
  std::vector<std::int64_t> order;
  std::int64_t base = 0;  // merged tokens of the images before
  for (const Grid& g : read_grids(grid_thw, merge_size)) {
    const std::int64_t mh = g.h / merge_size, mw = g.w / merge_size;
    for (std::int64_t t = 0; t < g.t; ++t) {
      for (std::int64_t wy = 0; wy < mh; wy += merged_window) {
        for (std::int64_t wx = 0; wx < mw; wx += merged_window) {
          std::int64_t count = 0;
          for (std::int64_t y = wy; y < std::min(wy + merged_window, mh); ++y) {
            for (std::int64_t x = wx; x < std::min(wx + merged_window, mw); ++x) {
              order.push_back(base + (t * mh + y) * mw + x);
              ++count;
            }
          }
          windows.window_bounds.push_back(windows.window_bounds.back() + count * unit);
        }
      }
      // Upstream attends within each frame (cu_seqlens repeats h*w per temporal step).
      windows.image_bounds.push_back(windows.image_bounds.back() + g.h * g.w);
    }
    base += g.t * mh * mw;
  }
  windows.window_index = at::tensor(order, at::kLong);
  return windows;
}

at::Tensor to_window_order(const at::Tensor& x, const at::Tensor& window_index,
                           std::int64_t merge_unit) {
  std::vector<std::int64_t> grouped = {window_index.size(0), merge_unit};
  for (std::int64_t d = 1; d < x.dim(); ++d) grouped.push_back(x.size(d));
  return x.reshape(grouped).index_select(0, window_index.to(x.device())).reshape(x.sizes());
}

at::Tensor from_window_order(const at::Tensor& x, const at::Tensor& window_index,
                             std::int64_t merge_unit) {
  return to_window_order(x, at::argsort(window_index), merge_unit);
}

at::Tensor vision_patch_positions(const at::Tensor& grid_thw, std::int64_t merge_size) {
  std::vector<at::Tensor> rows;
  for (const Grid& g : read_grids(grid_thw, merge_size)) {
    const std::int64_t m = merge_size;
    // Patch order: merged blocks row-major, the m x m patches of a block row-major.
    at::Tensor h = at::arange(g.h, at::kLong).view({g.h, 1}).expand({g.h, g.w});
    at::Tensor w = at::arange(g.w, at::kLong).view({1, g.w}).expand({g.h, g.w});
    auto reorder = [&](const at::Tensor& p) {
      return p.reshape({g.h / m, m, g.w / m, m}).permute({0, 2, 1, 3}).flatten();
    };
    rows.push_back(at::stack({reorder(h), reorder(w)}, -1).repeat({g.t, 1}));
  }
  return at::cat(rows, 0);
}

QwenVisionBlockImpl::QwenVisionBlockImpl(const QwenVisionConfig& config) : heads(config.num_heads) {
  norm1 = register_module("norm1", QwenRMSNorm(config.hidden_size, vision_norm_eps));
  norm2 = register_module("norm2", QwenRMSNorm(config.hidden_size, vision_norm_eps));
  attn = register_module("attn", std::make_shared<torch::nn::Module>());
  qkv = attn->register_module("qkv", torch::nn::Linear(config.hidden_size, 3 * config.hidden_size));
  proj = attn->register_module("proj", torch::nn::Linear(config.hidden_size, config.hidden_size));
  mlp = register_module("mlp", QwenGatedMlp(config.hidden_size, config.intermediate_size, true));
}

at::Tensor QwenVisionBlockImpl::forward(const at::Tensor& x, const at::Tensor& cos,
                                        const at::Tensor& sin,
                                        const std::vector<std::int64_t>& bounds) {
  const std::int64_t n = x.size(0), width = x.size(1), head_dim = width / heads;
  // qkv rows are [q | k | v], each heads x head_dim, head-major.
  at::Tensor packed = qkv->forward(norm1->forward(x)).view({n, 3, heads, head_dim});
  at::Tensor q = apply_rotary(packed.select(1, 0), cos, sin).transpose(0, 1);  // [heads, n, d]
  at::Tensor k = apply_rotary(packed.select(1, 1), cos, sin).transpose(0, 1);
  at::Tensor v = packed.select(1, 2).transpose(0, 1);
  std::vector<at::Tensor> outputs;
  for (std::size_t i = 0; i + 1 < bounds.size(); ++i) {
    const std::int64_t start = bounds[i], length = bounds[i + 1] - bounds[i];
    if (length == 0) continue;
    outputs.push_back(omni::compat::scaled_dot_product_attention(
        q.narrow(1, start, length).unsqueeze(0), k.narrow(1, start, length).unsqueeze(0),
        v.narrow(1, start, length).unsqueeze(0))[0]);
  }
  at::Tensor attended = at::cat(outputs, 1).transpose(0, 1).reshape({n, width});
  at::Tensor h = x + proj->forward(attended);
  return h + mlp->forward(norm2->forward(h));
}

QwenVisionTowerImpl::QwenVisionTowerImpl(const QwenVisionConfig& config) : config_(config) {
  auto patch_embed = register_module("patch_embed", std::make_shared<torch::nn::Module>());
  auto proj = patch_embed->register_module("proj", std::make_shared<torch::nn::Module>());
  patch_weight_ = proj->register_parameter(
      "weight", at::zeros({config.hidden_size, config.in_channels, config.temporal_patch_size,
                           config.patch_size, config.patch_size}),
      /*requires_grad=*/false);
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config.depth; ++i) blocks_->push_back(QwenVisionBlock(config));
  auto merger = register_module("merger", std::make_shared<torch::nn::Module>());
  const std::int64_t merged = config.hidden_size * config.spatial_merge_size * config.spatial_merge_size;
  ln_q_ = merger->register_module("ln_q", QwenRMSNorm(config.hidden_size, vision_norm_eps));
  auto mlp = merger->register_module("mlp", std::make_shared<torch::nn::Module>());
  // Upstream's nn.Sequential(Linear, GELU, Linear): its parameters are mlp.0 and mlp.2.
  merger_fc1_ = mlp->register_module("0", torch::nn::Linear(merged, merged));
  merger_fc2_ = mlp->register_module("2", torch::nn::Linear(merged, config.out_hidden_size));
}

at::Tensor QwenVisionTowerImpl::forward(const at::Tensor& pixel_values, const at::Tensor& grid_thw) {
  const std::int64_t m = config_.spatial_merge_size, unit = m * m;
  const VisionWindows windows = vision_windows(grid_thw, m, config_.merged_window());
  const std::int64_t patches = windows.image_bounds.back();
  if (pixel_values.dim() != 2 || pixel_values.size(0) != patches ||
      pixel_values.size(1) != config_.patch_values()) {
    throw omni::Error(fmt::format("Qwen vision tower: pixel_values must be [{}, {}] for "
                                  "image_grid_thw {}, got {}",
                                  patches, config_.patch_values(),
                                  c10::str(grid_thw.sizes()), c10::str(pixel_values.sizes())));
  }
  const at::TensorOptions options = patch_weight_.options();
  // The Conv3d with stride = kernel is one matmul over the flattened (c, t, py, px) values.
  at::Tensor x = at::matmul(pixel_values.to(options),
                            patch_weight_.reshape({config_.hidden_size, -1}).t());

  // 2-D rotary angles: the first half of the frequencies follow the row, the second the column.
  const std::int64_t quarter = config_.head_dim() / 4;
  at::Tensor inv = 1.0 / at::pow(vision_rope_theta,
                                 at::arange(0, 2 * quarter, 2, at::kLong).to(at::kFloat) /
                                     static_cast<double>(2 * quarter));
  at::Tensor positions = vision_patch_positions(grid_thw, m).to(at::kFloat);  // [n, 2]
  at::Tensor angles = (positions.unsqueeze(-1) * inv).flatten(1);               // [n, hd/2]
  angles = to_window_order(at::cat({angles, angles}, -1), windows.window_index, unit)
               .to(options.device());
  const at::Tensor cos = angles.cos().unsqueeze(1), sin = angles.sin().unsqueeze(1);

  x = to_window_order(x, windows.window_index, unit);
  for (std::int64_t i = 0; i < config_.depth; ++i) {
    const auto& bounds =
        config_.is_full_attention(i) ? windows.image_bounds : windows.window_bounds;
    x = blocks_[i]->as<QwenVisionBlockImpl>()->forward(x, cos, sin, bounds);
  }
  // Merger: the unit patches of each merged token side by side, then the MLP (exact GELU).
  x = ln_q_->forward(x).reshape({-1, config_.hidden_size * unit});
  x = merger_fc2_->forward(at::gelu(merger_fc1_->forward(x)));
  return x.index_select(0, at::argsort(windows.window_index).to(x.device()));
}

}  // namespace qwen_vl
