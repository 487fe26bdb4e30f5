#pragma once
// Attaching LoRA adapters to any model by module name, with PEFT's target-module semantics, so
// that a config written for diffusers + PEFT (`target_modules: [to_q, ...]`) adapts the same
// linears here. The model's linears must be omni::LoraLinear modules (omni/lora_linear.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "omni/export.hpp"
#include <torch/nn/module.h>

#include "omni/lora_linear.hpp"
#include "omni/safetensors.hpp"

namespace omni {

struct OMNI_API LoraSpec {
  std::int64_t rank = 16;
  double alpha = 16;  // the adapter's output is scaled by alpha / rank
  LoraInit init = LoraInit::gaussian;
  double dropout = 0.0;
  // PEFT's target_modules: a plain name ("to_q", "to_out.0") matches a module whose full name
  // equals it or ends with "." + it; anything else is a regular expression that must match
  // the whole module name (PEFT takes a single string as such a regex).
  std::vector<std::string> target_modules{"to_k", "to_q", "to_v", "to_out.0"};
};

// "gaussian" | "normal" | "zero"; `where` names the setting in the error.
OMNI_API LoraInit parse_lora_init(const std::string& name, const std::string& where);
OMNI_API std::string lora_init_name(LoraInit init);

// True when `pattern` (plain name or regex, as in LoraSpec::target_modules) selects the
// module `module_name`. Throws Error for a regex that does not compile.
OMNI_API bool lora_target_matches(const std::string& pattern,
                                          const std::string& module_name);
// A plain name is made only of letters, digits, '_' and '.'; anything else is a regex.
OMNI_API bool is_plain_module_name(const std::string& pattern);

// Every LoRA-capable linear (omni::LoraLinear) of `model`, by full module name, in module order.
OMNI_API std::vector<std::pair<std::string, LoraLinear>> lora_linears(
    torch::nn::Module& model);

// Attaches an adapter (on the base weight's device, fp32) to every linear that a pattern of
// `spec` selects, and freezes everything else. Returns the adapted module names in module
// order. A pattern that selects nothing is an error that lists some module names.
OMNI_API std::vector<std::string> attach_lora(torch::nn::Module& model,
                                                      const LoraSpec& spec);

// The trainable LoRA tensors, `<module>.lora_A.weight` / `<module>.lora_B.weight`, in
// module order (the live parameters, not copies).
OMNI_API NamedTensors lora_parameters(torch::nn::Module& model);

// Sets requires_grad on the LoRA parameters only: the base model stays frozen.
OMNI_API void freeze_all_but_lora(torch::nn::Module& model);

}  // namespace omni
