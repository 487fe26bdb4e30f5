#pragma once
// LoRA files of the Flux transformer.
//
// Written in diffusers' layout, as FluxKontextPipeline.save_lora_weights writes it:
// `transformer.<module>.lora_A.weight` / `.lora_B.weight` and, in the header, the adapter's
// PEFT LoraConfig as JSON under `lora_adapter_metadata` (keys `transformer.r`,
// `transformer.lora_alpha`, `transformer.target_modules`, ...).
//
// Why no per-module `.alpha` keys beside the metadata: diffusers' loaders turn any such key
// into `network_alphas`, and load_lora_adapter / _load_lora_into_text_encoder raise
// "`network_alphas` and `metadata` cannot be specified both at the same time", so the file
// would no longer load in diffusers. Tools that ignore the metadata (ComfyUI reads only
// `<module>.alpha` keys and otherwise applies the LoRA unscaled) therefore see alpha == r;
// the trainer's default lora_alpha == r keeps the two readings equal, and for alpha != r
// `omnihost lora convert --to kohya` writes a file with `.alpha` keys (see docs/lora-files.md).
//
// Read in any of: that layout; PEFT's (no prefix, or `base_model.model.`), with alpha from the
// metadata, from `<module>.alpha` keys, or equal to the rank; kohya/ComfyUI's BFL-named
// `lora_unet_...lora_down/lora_up/alpha` (lora_kohya.hpp).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include "omni/training/lora_adapters.hpp"

namespace flux_kontext {

class FluxTransformer2DModelImpl;

// One adapted linear: delta W = (alpha / rank) * up @ down.
struct LoraModuleWeights {
  at::Tensor down;  // lora_A.weight (kohya lora_down): [rank, in]
  at::Tensor up;    // lora_B.weight (kohya lora_up): [out, rank]
  double alpha = 0;
  std::int64_t rank() const { return down.size(0); }
};

// By diffusers module name ("transformer_blocks.0.attn.to_q").
using LoraModules = std::map<std::string, LoraModuleWeights>;

// The same adapters with alpha / rank folded into `up` and alpha = rank, computed in fp32 and
// stored in each tensor's dtype. Every writer stores LoRAs so: ComfyUI applies a diffusers
// file without `.alpha` keys at scale 1 whatever its metadata says, so a file whose strength
// lived in lora_alpha would apply at another strength there than in diffusers or omnihost.
LoraModules fold_alpha_into_up(const LoraModules& modules);

enum class LoraLayout { diffusers, kohya };
std::string lora_layout_name(LoraLayout layout);

struct LoraFileContents {
  LoraLayout layout = LoraLayout::diffusers;
  LoraModules modules;
};

// Reads a LoRA file of either layout; every key must be understood (an unknown key, a
// module without its A or B, or a layout it cannot recognise is an omni::Error naming the
// file). Tensors keep the file's dtype.
LoraFileContents read_lora_file(const std::filesystem::path& path);

// Writes `modules` in diffusers' layout (atomically), tensors in their own dtype. The
// metadata's r / lora_alpha / target_modules / lora_dropout / init come from `spec` when
// given; otherwise the most common rank and alpha, the rest as rank_pattern / alpha_pattern,
// and the module names as target_modules.
void write_lora_diffusers(const std::filesystem::path& path,
                          const LoraModules& modules,
                          const omni::LoraSpec* spec = nullptr);

// The adapters attached to `model`, copied to the CPU in `dtype`.
LoraModules lora_modules(FluxTransformer2DModelImpl& model,
                         c10::ScalarType dtype = c10::kFloat);

// Saves the model's adapters in diffusers' layout. Every adapter must have spec's rank and
// scale alpha / rank (the metadata describes them all).
void save_lora_diffusers(const std::filesystem::path& path,
                         FluxTransformer2DModelImpl& model, const omni::LoraSpec& spec,
                         c10::ScalarType dtype = c10::kFloat);

// Attaches the file's adapters to `model` (fp32, on the model's device) with the file's
// ranks and alphas, times `scale`, and freezes everything else. Every module must exist and
// every shape fit: a LoRA for another model is an error naming the file and the first
// mismatching keys. Returns the adapted module names.
std::vector<std::string> load_lora_file(const std::filesystem::path& path,
                                        FluxTransformer2DModelImpl& model,
                                        double scale = 1.0);

// How `apply_lora_file` puts a file's adapters on the model: as the trainable adapter (what
// load_lora_file does), folded into the base weights, or as fixed adapters stacked under any
// trainable one (base LoRAs, `model.base_loras` with `fuse: false`).
enum class LoraApplication { trainable, fused, stacked };

// load_lora_file with a choice of application; the same checks and errors.
std::vector<std::string> apply_lora_file(const std::filesystem::path& path,
                                         FluxTransformer2DModelImpl& model,
                                         double scale,
                                         LoraApplication application);

}  // namespace flux_kontext
