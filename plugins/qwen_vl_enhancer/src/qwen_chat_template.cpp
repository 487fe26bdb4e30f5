#include "qwen_vl/qwen_chat_template.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"

namespace qwen_vl {

std::string user_turn_prompt(std::size_t image_count, std::string_view text) {
  std::string prompt =
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n";
  for (std::size_t k = 0; k < image_count; ++k) {
    prompt += "<|vision_start|><|image_pad|><|vision_end|>";
  }
  prompt += text;
  prompt += "<|im_end|>\n<|im_start|>assistant\n";
  return prompt;
}

std::vector<std::int64_t> expand_image_pads(const std::vector<std::int64_t>& ids,
                                            std::int64_t image_pad_id,
                                            const at::Tensor& image_grid_thw,
                                            std::int64_t merge_size) {
  const std::int64_t images = image_grid_thw.defined() ? image_grid_thw.size(0) : 0;
  const at::Tensor grids =
      images > 0 ? image_grid_thw.to(at::kCPU, at::kLong).contiguous() : at::Tensor();
  std::vector<std::int64_t> out;
  std::int64_t image = 0;
  for (std::int64_t id : ids) {
    if (id != image_pad_id) {
      out.push_back(id);
      continue;
    }
    if (image >= images) {
      throw omni::Error(fmt::format("Qwen prompt: more <|image_pad|> tokens than the {} images",
                                    images));
    }
    const std::int64_t count = grids[image].prod().item<std::int64_t>() / (merge_size * merge_size);
    out.insert(out.end(), static_cast<std::size_t>(count), image_pad_id);
    ++image;
  }
  if (image != images) {
    throw omni::Error(fmt::format("Qwen prompt: {} images but {} <|image_pad|> tokens", images,
                                  image));
  }
  return out;
}

}  // namespace qwen_vl
