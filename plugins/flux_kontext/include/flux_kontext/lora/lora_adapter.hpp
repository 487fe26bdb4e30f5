#pragma once
// Attaching LoRA adapters to the Flux transformer by module name, with PEFT's target-module
// semantics, so that a config written for diffusers + PEFT (`target_modules: [to_q, ...]`)
// adapts the same linears here.
#include <cstdint>
#include <string>
#include <vector>

#include "flux_kontext/export.hpp"
#include "flux_kontext/model/flux_transformer.hpp"
#include "omni/lora_linear.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {

struct LoraConfig;

struct FLUX_KONTEXT_API LoraSpec {
  std::int64_t rank = 16;
  double alpha = 16;  // the adapter's output is scaled by alpha / rank
  omni::LoraInit init = omni::LoraInit::gaussian;
  double dropout = 0.0;
  // PEFT's target_modules: a plain name ("to_q", "to_out.0") matches a module whose full name
  // equals it or ends with "." + it; anything else is a regular expression that must match
  // the whole module name (PEFT takes a single string as such a regex).
  std::vector<std::string> target_modules{"to_k", "to_q", "to_v", "to_out.0"};

  // From the trainer config's `lora` section; "zero" is PEFT's default init (B = 0).
  static LoraSpec from_config(const LoraConfig& config);
};

// "gaussian" | "normal" | "zero"; `where` names the setting in the error.
FLUX_KONTEXT_API omni::LoraInit parse_lora_init(const std::string& name, const std::string& where);
FLUX_KONTEXT_API std::string lora_init_name(omni::LoraInit init);

// True when `pattern` (plain name or regex, as in LoraSpec::target_modules) selects the
// module `module_name`. Throws omni::Error for a regex that does not compile.
FLUX_KONTEXT_API bool lora_target_matches(const std::string& pattern,
                                          const std::string& module_name);
// A plain name is made only of letters, digits, '_' and '.'; anything else is a regex.
FLUX_KONTEXT_API bool is_plain_module_name(const std::string& pattern);

// Every LoRA-capable linear of `model`, by full module name, in module order.
FLUX_KONTEXT_API std::vector<std::pair<std::string, omni::LoraLinear>> lora_linears(
    FluxTransformer2DModelImpl& model);

// Attaches an adapter (on the base weight's device, fp32) to every linear that a pattern of
// `spec` selects, and freezes everything else. Returns the adapted module names in module
// order. A pattern that selects nothing is an error that lists some module names.
FLUX_KONTEXT_API std::vector<std::string> attach_lora(FluxTransformer2DModelImpl& model,
                                                      const LoraSpec& spec);
inline std::vector<std::string> attach_lora(FluxTransformer2DModel& model, const LoraSpec& spec) {
  return attach_lora(*model, spec);
}

// The trainable LoRA tensors, `<module>.lora_A.weight` / `<module>.lora_B.weight`, in
// module order (the live parameters, not copies).
FLUX_KONTEXT_API omni::NamedTensors lora_parameters(FluxTransformer2DModelImpl& model);

// Sets requires_grad on the LoRA parameters only: the base model stays frozen.
FLUX_KONTEXT_API void freeze_all_but_lora(FluxTransformer2DModelImpl& model);

}  // namespace flux_kontext
