#include "omni/training/lora_adapters.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/error.hpp"

namespace omni {

LoraInit parse_lora_init(const std::string& name, const std::string& where) {
  if (name == "gaussian") return LoraInit::gaussian;
  if (name == "normal") return LoraInit::normal;
  if (name == "zero") return LoraInit::zero_b;
  throw Error(
      fmt::format("{}: unknown LoRA init '{}' (expected gaussian, normal or zero)", where, name));
}

std::string lora_init_name(LoraInit init) {
  switch (init) {
    case LoraInit::gaussian: return "gaussian";
    case LoraInit::normal: return "normal";
    case LoraInit::zero_b: return "zero";
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
    throw Error(fmt::format("LoRA target module pattern '{}' is not a valid regular "
                                  "expression: {}",
                                  pattern, error.what()));
  }
}

std::vector<std::pair<std::string, LoraLinear>> lora_linears(
    torch::nn::Module& model) {
  std::vector<std::pair<std::string, LoraLinear>> out;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (auto linear = std::dynamic_pointer_cast<LoraLinearImpl>(item.value())) {
      out.emplace_back(item.key(), LoraLinear(linear));
    }
  }
  return out;
}

std::vector<std::string> attach_lora(torch::nn::Module& model, const LoraSpec& spec) {
  if (spec.rank <= 0) throw Error(fmt::format("LoRA rank must be > 0, got {}", spec.rank));
  if (!(spec.alpha > 0)) {
    throw Error(fmt::format("LoRA alpha must be > 0, got {}", spec.alpha));
  }
  if (spec.target_modules.empty()) throw Error("LoRA target_modules is empty");
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
      throw Error(fmt::format(
          "LoRA target module '{}' matches no LoRA-capable linear of the model; a plain name "
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

NamedTensors lora_parameters(torch::nn::Module& model) {
  NamedTensors out;
  for (const auto& [name, linear] : lora_linears(model)) {
    if (!linear->has_lora()) continue;
    out.emplace_back(name + ".lora_A.weight", linear->lora_A->weight);
    out.emplace_back(name + ".lora_B.weight", linear->lora_B->weight);
  }
  return out;
}

void freeze_all_but_lora(torch::nn::Module& model) {
  for (auto& parameter : model.parameters()) parameter.requires_grad_(false);
  for (auto& item : lora_parameters(model)) item.second.requires_grad_(true);
}

}  // namespace omni
