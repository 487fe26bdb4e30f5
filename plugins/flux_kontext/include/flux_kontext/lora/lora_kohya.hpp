#pragma once
// kohya / ComfyUI LoRA layout of Flux: BFL module names with '_' for '.', prefixed
// `lora_unet_`: `lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight` / `.lora_up.weight`
// / `.alpha` (a scalar; scale = alpha / rank).
//
// BFL fuses some linears that diffusers keeps apart (img_attn.qkv = attn.to_q/to_k/to_v,
// txt_attn.qkv = attn.add_q/k/v_proj, single blocks' linear1 = attn.to_q/to_k/to_v +
// proj_mlp). Their k part LoRAs of rank r are written as ONE LoRA of rank k*r: lora_down
// stacks the parts' A, lora_up is block-diagonal in the parts' B, alpha = k * alpha, so
// alpha / rank and the product are exactly the parts'. Parts the LoRA does not adapt get a
// zero block (single blocks' MLP rows count 4 x hidden, Flux's mlp_ratio). This is the
// layout diffusers' _convert_kohya_flux_lora_to_diffusers recognises as "sparse" and splits
// back by chunks, and ComfyUI applies as one delta on the fused weight.
// Reading splits such blocks back (dropping all-zero parts); a fused LoRA whose lora_up is
// not block-diagonal (trained on the fused layer) cannot be split into smaller ranks, so, as
// diffusers does, every part gets the whole lora_down and its rows of lora_up (rank k*r):
// the same delta.
// The final layer's modulation (BFL shift, scale; diffusers scale, shift) swaps the two
// halves of lora_up's rows.
#include <filesystem>
#include <string>
#include <vector>

#include "flux_kontext/lora/lora_files.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {

// True when `names` (a file's tensor names) are in kohya layout.
bool is_kohya_lora(const std::vector<std::string>& names);

// diffusers-named modules -> kohya tensors. `source` names the input in errors (a module
// without a BFL name, fused parts of different rank or alpha).
omni::NamedTensors lora_to_kohya(const LoraModules& modules,
                                 const std::string& source);

// A kohya-layout file -> diffusers-named modules; unknown keys are an omni::Error.
LoraModules lora_from_kohya(const omni::SafetensorsFile& file);

// Writes `modules` in kohya layout (atomically).
void write_lora_kohya(const std::filesystem::path& path,
                      const LoraModules& modules);

}  // namespace flux_kontext
