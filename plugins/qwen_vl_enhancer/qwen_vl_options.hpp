#pragma once
#include <string>

#include "omni/config.hpp"

namespace qwen_vl_enhancer {

// The `prompt_enhancer` section for qwen2_5_vl. The model defaults to the VLM that the
// DreamOmni2 release ships as the `vlm-model` subfolder of xiabs/DreamOmni2.
struct QwenVlOptions {
  std::string model = "xiabs/DreamOmni2";
  std::string subfolder = "vlm-model";
  std::string dtype = "bf16";  // bf16 | fp16 | fp32
  std::string device = "cpu";
  int max_new_tokens = 256;
  bool do_sample = false;
  double temperature = 1.0;
  double top_p = 1.0;
  // Appended to the instruction by the enhancer itself. Empty by default: the DreamOmni2
  // trainer already appends model.prompt_enhancer_suffix (" It is editing task.") to the
  // instruction it sends, and a second copy would change the answer.
  std::string task_suffix;
  long min_pixels = 56 * 56;
  long max_pixels = 28 * 28 * 1280;
};

QwenVlOptions parse_qwen_vl_options(const omni::ConfigView& view);

}  // namespace qwen_vl_enhancer
