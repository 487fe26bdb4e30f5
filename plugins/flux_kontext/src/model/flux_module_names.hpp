#pragma once
// The one table of how Black Forest Labs' Flux module names (`double_blocks.N.img_attn.qkv`,
// as in BFL checkpoints and kohya/ComfyUI LoRAs) correspond to diffusers' names
// (`transformer_blocks.N.attn.to_q`, ...). Base-weight loading (bfl_checkpoint.cpp) and LoRA
// conversion (lora_kohya.cpp) both read it, so the two cannot drift apart.
// Names are templates: "{}" stands for a block index, in both spellings.
#include <optional>
#include <string>
#include <vector>

namespace flux_kontext::detail {

// A BFL module that is one diffusers module.
struct RenamedModule {
  std::string bfl;
  std::string diffusers;
  bool linear = true;  // false for the RMS norms (their weight is BFL's "scale")
};

// A BFL linear whose output rows are several diffusers linears stacked in this order
// (q, k, v and, for single blocks' linear1, the MLP input). The input is shared.
struct FusedModule {
  std::string bfl;
  std::vector<std::string> parts;
};

const std::vector<RenamedModule>& renamed_modules();
const std::vector<FusedModule>& fused_modules();

// The final layer's modulation: BFL stores (shift, scale), diffusers (scale, shift), so the
// two halves of its output rows are swapped between the layouts.
inline constexpr const char* kSwappedBflModule = "final_layer.adaLN_modulation.1";
inline constexpr const char* kSwappedDiffusersModule = "norm_out.linear";

// A compiled template: matches a concrete name and fills one back in.
class NameTemplate {
 public:
  explicit NameTemplate(std::string text);
  // The block index ("" when the template has none) if `name` is an instance of it.
  std::optional<std::string> match(const std::string& name) const;
  std::string fill(const std::string& index) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string before_, after_;  // around "{}"; before_ is everything when there is none
  bool has_index_ = false;
};

// "double_blocks.3.img_attn.qkv" -> "lora_unet_double_blocks_3_img_attn_qkv".
std::string kohya_name(const std::string& bfl_name);

}  // namespace flux_kontext::detail
