#include "flux_kontext/lora/lora_adapter.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "flux_kontext/trainer/trainer_config.hpp"
#include "omni/error.hpp"

namespace flux_kontext {

LoraSpec LoraSpec::from_config(const LoraConfig& config) {
  LoraSpec spec;
  spec.rank = config.r;
  spec.alpha = config.lora_alpha;
  spec.init = parse_lora_init(config.init_lora_weights, "lora.init_lora_weights");
  spec.dropout = config.lora_dropout;
  spec.target_modules = config.target_modules;
  return spec;
}

omni::LoraInit parse_lora_init(const std::string& name, const std::string& where) {
  if (name == "gaussian") return omni::LoraInit::gaussian;
  if (name == "normal") return omni::LoraInit::normal;
  if (name == "zero") return omni::LoraInit::zero_b;
  throw omni::Error(
      fmt::format("{}: unknown LoRA init '{}' (expected gaussian, normal or zero)", where, name));
}

std::string lora_init_name(omni::LoraInit init) {
  switch (init) {
    case omni::LoraInit::gaussian: return "gaussian";
    case omni::LoraInit::normal: return "normal";
    case omni::LoraInit::zero_b: return "zero";
  }
  return "gaussian";
}

bool is_plain_module_name(const std::string& pattern) {
  return !pattern.empty() && std::all_of(pattern.begin(), pattern.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.';
  });
}

bool lora_target_matches(const std::string& pattern, const std::string& module_name) {
  if (is_plain_module_name(pattern)) {
    // PEFT's check_target_module_exists: `key in target_modules or
    // any(key.endswith(f".{target_key}") ...)`.
    return module_name == pattern ||
           (module_name.size() > pattern.size() &&
            module_name.compare(module_name.size() - pattern.size(), pattern.size(), pattern) == 0 &&
            module_name[module_name.size() - pattern.size() - 1] == '.');
  }
  try {
    // PEFT: re.fullmatch(target_modules, key).
    return std::regex_match(module_name, std::regex(pattern, std::regex::ECMAScript));
  } catch (const std::regex_error& error) {
    throw omni::Error(fmt::format("LoRA target module pattern '{}' is not a valid regular "
                                  "expression: {}",
                                  pattern, error.what()));
  }
}

std::vector<std::pair<std::string, omni::LoraLinear>> lora_linears(
    FluxTransformer2DModelImpl& model) {
  std::vector<std::pair<std::string, omni::LoraLinear>> out;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (auto linear = std::dynamic_pointer_cast<omni::LoraLinearImpl>(item.value())) {
      out.emplace_back(item.key(), omni::LoraLinear(linear));
    }
  }
  return out;
}

std::vector<std::string> attach_lora(FluxTransformer2DModelImpl& model, const LoraSpec& spec) {
  if (spec.rank <= 0) throw omni::Error(fmt::format("LoRA rank must be > 0, got {}", spec.rank));
  if (!(spec.alpha > 0)) {
    throw omni::Error(fmt::format("LoRA alpha must be > 0, got {}", spec.alpha));
  }
  if (spec.target_modules.empty()) throw omni::Error("LoRA target_modules is empty");
  auto linears = lora_linears(model);
  // Check every pattern first, so a typo leaves the model untouched.
  std::vector<bool> selected(linears.size(), false);
  for (const std::string& pattern : spec.target_modules) {
    bool any = false;
    for (std::size_t i = 0; i < linears.size(); ++i) {
      if (lora_target_matches(pattern, linears[i].first)) selected[i] = any = true;
    }
    if (!any) {
      std::vector<std::string> examples;
      for (std::size_t i = 0; i < linears.size() && examples.size() < 12; ++i) {
        examples.push_back(linears[i].first);
      }
      throw omni::Error(fmt::format(
          "LoRA target module '{}' matches no linear of the Flux transformer; a plain name "
          "must equal a module name or its last parts (e.g. 'to_q', 'ff.net.0.proj'), "
          "anything else is a regex that must match a whole name. Modules are named like: {}",
          pattern, fmt::join(examples, ", ")));
    }
  }
  std::vector<std::string> adapted;
  for (std::size_t i = 0; i < linears.size(); ++i) {
    if (!selected[i]) continue;
    linears[i].second->attach_lora(spec.rank, spec.alpha, spec.init, spec.dropout);
    adapted.push_back(linears[i].first);
  }
  freeze_all_but_lora(model);
  return adapted;
}

omni::NamedTensors lora_parameters(FluxTransformer2DModelImpl& model) {
  omni::NamedTensors out;
  for (const auto& [name, linear] : lora_linears(model)) {
    if (!linear->has_lora()) continue;
    out.emplace_back(name + ".lora_A.weight", linear->lora_A->weight);
    out.emplace_back(name + ".lora_B.weight", linear->lora_B->weight);
  }
  return out;
}

void freeze_all_but_lora(FluxTransformer2DModelImpl& model) {
  for (auto& parameter : model.parameters()) parameter.requires_grad_(false);
  for (auto& item : lora_parameters(model)) item.second.requires_grad_(true);
}

}  // namespace flux_kontext
