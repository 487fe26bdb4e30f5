#pragma once
// The Qwen2.5-VL chat template (chat_template.json of the released checkpoints) for one user
// turn holding images and then text, with the default system turn and the generation prompt,
// and the processor's expansion of each <|image_pad|> into one token per merged patch.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>

namespace qwen_vl {

// "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
// + "<|vision_start|><|image_pad|><|vision_end|>" per image + text
// + "<|im_end|>\n<|im_start|>assistant\n"
std::string user_turn_prompt(std::size_t image_count, std::string_view text);

// Each image_pad_id in `ids` (the k-th for image k) repeated t*h*w / merge^2 times, as
// Qwen2_5_VLProcessor does. Throws omni::Error when the counts disagree.
std::vector<std::int64_t> expand_image_pads(const std::vector<std::int64_t>& ids,
                                            std::int64_t image_pad_id,
                                            const at::Tensor& image_grid_thw,
                                            std::int64_t merge_size);

}  // namespace qwen_vl
