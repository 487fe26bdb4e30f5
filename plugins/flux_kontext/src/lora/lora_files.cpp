#include "flux_kontext/lora/lora_files.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <regex>
#include <set>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/grad_mode.h>

#include "flux_kontext/model/flux_transformer.hpp"
#include "omni/training/lora_adapters.hpp"
#include "flux_kontext/lora/lora_kohya.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {
namespace {

using Json = nlohmann::json;

// diffusers' LORA_ADAPTER_METADATA_KEY (loaders/lora_base.py) and the component prefix of
// FluxKontextPipeline's transformer.
constexpr const char* kMetadataKey = "lora_adapter_metadata";
constexpr const char* kPrefix = "transformer.";

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}
bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// PEFT's get_pattern_key: a rank_pattern / alpha_pattern key selects the modules that
// re.match(rf"(.*\.)?({key})$") accepts.
bool pattern_key_matches(const std::string& key, const std::string& module) {
  try {
    return std::regex_match(module, std::regex("(.*\\.)?(" + key + ")"));
  } catch (const std::regex_error&) {
    return module == key || ends_with(module, "." + key);
  }
}

// The adapter's LoraConfig, read from the header: keys `transformer.<field>` (or, in files
// of a bare PEFT model, `<field>`).
class AdapterMetadata {
 public:
  AdapterMetadata(const std::map<std::string, std::string>& header, const std::string& source)
      : source_(source) {
    auto found = header.find(kMetadataKey);
    if (found == header.end()) return;
    Json all;
    try {
      all = Json::parse(found->second);
    } catch (const Json::exception& error) {
      throw omni::Error(fmt::format("{}: header entry '{}' is not valid JSON: {}", source,
                                    kMetadataKey, error.what()));
    }
    if (!all.is_object()) {
      throw omni::Error(fmt::format("{}: header entry '{}' is not a JSON object", source,
                                    kMetadataKey));
    }
    for (const auto& item : all.items()) {
      if (starts_with(item.key(), kPrefix)) {
        config_[item.key().substr(std::string(kPrefix).size())] = item.value();
      } else if (item.key().find('.') == std::string::npos) {
        config_.emplace(item.key(), item.value());
      }
    }
    for (const char* flag : {"use_dora", "use_rslora"}) {
      if (config_.contains(flag) && config_[flag].is_boolean() && config_[flag].get<bool>()) {
        throw omni::Error(fmt::format("{}: the adapter has {} set, which is not supported "
                                      "(plain LoRA only)",
                                      source, flag));
      }
    }
  }

  // alpha_pattern, then lora_alpha; nothing when the file does not say.
  std::optional<double> alpha(const std::string& module) const {
    if (config_.contains("alpha_pattern") && config_.at("alpha_pattern").is_object()) {
      for (const auto& item : config_.at("alpha_pattern").items()) {
        if (pattern_key_matches(item.key(), module)) return number(item.value(), "alpha_pattern");
      }
    }
    if (config_.contains("lora_alpha")) return number(config_.at("lora_alpha"), "lora_alpha");
    return std::nullopt;
  }

 private:
  double number(const Json& value, const char* field) const {
    if (!value.is_number()) {
      throw omni::Error(fmt::format("{}: metadata field '{}' is {}, expected a number", source_,
                                    field, value.dump()));
    }
    return value.get<double>();
  }

  std::string source_;
  Json config_ = Json::object();
};

LoraModules read_diffusers(const omni::SafetensorsFile& file) {
  const std::string source = file.path().string();
  const AdapterMetadata metadata(file.metadata(), source);
  struct Entry {
    at::Tensor down, up;
    std::optional<double> alpha;
  };
  std::map<std::string, Entry> entries;
  std::vector<std::string> unknown;
  for (const std::string& key : file.names()) {
    std::string name = key;
    for (const char* prefix : {kPrefix, "base_model.model."}) {
      if (starts_with(name, prefix)) {
        name = name.substr(std::string(prefix).size());
        break;
      }
    }
    if (ends_with(name, ".lora_A.weight")) {
      entries[name.substr(0, name.size() - 14)].down = file.tensor(key);
    } else if (ends_with(name, ".lora_B.weight")) {
      entries[name.substr(0, name.size() - 14)].up = file.tensor(key);
    } else if (ends_with(name, ".alpha") && file.tensor(key).numel() == 1) {
      entries[name.substr(0, name.size() - 6)].alpha =
          file.tensor(key).to(at::kDouble).item<double>();
    } else {
      unknown.push_back(key);
    }
  }
  if (!unknown.empty()) {
    unknown.resize(std::min<std::size_t>(unknown.size(), 5));
    throw omni::Error(fmt::format(
        "{}: unknown keys in a diffusers/PEFT LoRA (expected [transformer.]<module>.lora_A"
        ".weight / .lora_B.weight [/ .alpha]): {}",
        source, fmt::join(unknown, ", ")));
  }
  LoraModules out;
  for (auto& [name, entry] : entries) {
    if (!entry.down.defined() || !entry.up.defined()) {
      throw omni::Error(fmt::format("{}: module '{}' has no {}", source, name,
                                    entry.down.defined() ? "lora_B.weight" : "lora_A.weight"));
    }
    if (entry.down.dim() != 2 || entry.up.dim() != 2 || entry.up.size(1) != entry.down.size(0)) {
      throw omni::Error(fmt::format(
          "{}: module '{}' has lora_A [{}] and lora_B [{}], expected [rank, in] and [out, rank]",
          source, name, fmt::join(entry.down.sizes(), ", "), fmt::join(entry.up.sizes(), ", ")));
    }
    // diffusers' order: an explicit per-module alpha, the config, else alpha = rank.
    const double alpha = entry.alpha ? *entry.alpha
                                     : metadata.alpha(name).value_or(
                                           static_cast<double>(entry.down.size(0)));
    out[name] = LoraModuleWeights{entry.down, entry.up, alpha};
  }
  return out;
}

template <typename T>
T most_common(const std::map<T, int>& counts) {
  T best{};
  int best_count = -1;
  for (const auto& [value, count] : counts) {
    if (count > best_count) {
      best = value;
      best_count = count;
    }
  }
  return best;
}

// PEFT's LoraConfig.to_dict() fields that diffusers' _create_lora_config passes back to
// LoraConfig(**metadata) (rank_pattern and target_modules must be present).
Json adapter_config(const LoraModules& modules, const omni::LoraSpec* spec) {
  std::map<std::int64_t, int> ranks;
  std::map<double, int> alphas;
  std::vector<std::string> names;
  for (const auto& [name, m] : modules) {
    ++ranks[m.rank()];
    ++alphas[m.alpha];
    names.push_back(name);
  }
  const std::int64_t rank = spec ? spec->rank : most_common(ranks);
  // Writers fold alpha / rank into lora_B (fold_alpha_into_up), so the file's alpha is its rank.
  const double alpha = spec ? static_cast<double>(spec->rank) : most_common(alphas);
  Json rank_pattern = Json::object();
  Json alpha_pattern = Json::object();
  for (const auto& [name, m] : modules) {
    if (m.rank() != rank) rank_pattern[name] = m.rank();
    if (m.alpha != alpha) alpha_pattern[name] = m.alpha;
  }
  Json target_modules = names;
  if (spec) {
    bool plain = true;
    for (const std::string& pattern : spec->target_modules) plain = plain && omni::is_plain_module_name(pattern);
    if (plain) {
      std::set<std::string> sorted(spec->target_modules.begin(), spec->target_modules.end());
      target_modules = sorted;
    } else if (spec->target_modules.size() == 1) {
      target_modules = spec->target_modules.front();  // PEFT's single-regex form
    }
  }
  Json config = {
      {"r", rank},
      {"lora_alpha", alpha},
      {"target_modules", target_modules},
      {"lora_dropout", spec ? spec->dropout : 0.0},
      // PEFT's values; "normal" (B != 0, for tests) has none and only matters for a fresh init.
      {"init_lora_weights",
       spec && spec->init == omni::LoraInit::gaussian ? Json("gaussian") : Json(true)},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"use_rslora", false},
      {"use_dora", false},
      {"rank_pattern", rank_pattern},
      {"alpha_pattern", alpha_pattern},
      {"peft_type", "LORA"},
  };
  return config;
}

}  // namespace

std::string lora_layout_name(LoraLayout layout) {
  return layout == LoraLayout::kohya ? "kohya" : "diffusers";
}

LoraFileContents read_lora_file(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw omni::Error(fmt::format("LoRA file '{}' does not exist or is not a file", path.string()));
  }
  const auto file = omni::SafetensorsFile::open(path);
  const std::vector<std::string> names = file->names();
  LoraFileContents contents;
  if (is_kohya_lora(names)) {
    contents.layout = LoraLayout::kohya;
    contents.modules = lora_from_kohya(*file);
  } else {
    bool diffusers = false;
    for (const std::string& name : names) {
      diffusers = diffusers || ends_with(name, ".lora_A.weight") || ends_with(name, ".lora_B.weight");
    }
    if (!diffusers) {
      std::vector<std::string> first(names.begin(),
                                     names.begin() + static_cast<long>(std::min<std::size_t>(names.size(), 5)));
      throw omni::Error(fmt::format(
          "'{}' is not a LoRA layout this program knows: expected diffusers/PEFT keys "
          "([transformer.]<module>.lora_A.weight) or kohya keys (lora_unet_<module>.lora_down"
          ".weight); its first keys are: {}",
          path.string(), first.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(first, ", "))));
    }
    contents.modules = read_diffusers(*file);
  }
  if (contents.modules.empty()) {
    throw omni::Error(fmt::format("LoRA file '{}' holds no adapter", path.string()));
  }
  return contents;
}

LoraModules fold_alpha_into_up(const LoraModules& modules) {
  LoraModules folded = modules;
  for (auto& [name, m] : folded) {
    const double rank = static_cast<double>(m.rank());
    if (m.alpha == rank) continue;
    m.up = (m.up.to(at::kFloat) * (m.alpha / rank)).to(modules.at(name).up.scalar_type());
    m.alpha = rank;
  }
  return folded;
}

void write_lora_diffusers(const std::filesystem::path& path, const LoraModules& unfolded,
                          const omni::LoraSpec* spec) {
  if (unfolded.empty()) {
    throw omni::Error(fmt::format("{}: no LoRA adapter to write", path.string()));
  }
  const LoraModules modules = fold_alpha_into_up(unfolded);
  omni::NamedTensors tensors;
  for (const auto& [name, m] : modules) {
    tensors.emplace_back(kPrefix + name + ".lora_A.weight", m.down);
    tensors.emplace_back(kPrefix + name + ".lora_B.weight", m.up);
  }
  Json metadata = Json::object();
  const Json config = adapter_config(modules, spec);
  for (const auto& item : config.items()) {
    metadata[kPrefix + item.key()] = item.value();
  }
  // As diffusers' write_lora_layers: json.dumps(..., indent=2, sort_keys=True).
  omni::save_safetensors(path, tensors,
                         {{"format", "pt"}, {kMetadataKey, metadata.dump(2)}});
}

LoraModules lora_modules(FluxTransformer2DModelImpl& model, c10::ScalarType dtype) {
  LoraModules out;
  for (const auto& [name, linear] : omni::lora_linears(model)) {
    if (!linear->has_lora()) continue;
    const std::int64_t rank = linear->lora_A->weight.size(0);
    out[name] = LoraModuleWeights{
        linear->lora_A->weight.detach().to(at::kCPU, dtype).clone(),
        linear->lora_B->weight.detach().to(at::kCPU, dtype).clone(),
        linear->lora_scale * static_cast<double>(rank)};
  }
  return out;
}

void save_lora_diffusers(const std::filesystem::path& path, FluxTransformer2DModelImpl& model,
                         const omni::LoraSpec& spec, c10::ScalarType dtype) {
  // fp32 first, so that folding alpha / rank into lora_B rounds to `dtype` once.
  LoraModules modules = lora_modules(model, at::kFloat);
  if (modules.empty()) {
    throw omni::Error(fmt::format("{}: the model has no LoRA adapter to save", path.string()));
  }
  const double scale = spec.alpha / static_cast<double>(spec.rank);
  for (auto& [name, m] : modules) {
    const double module_scale = m.alpha / static_cast<double>(m.rank());
    if (m.rank() != spec.rank || std::abs(module_scale - scale) > 1e-12 * std::abs(scale)) {
      throw omni::Error(fmt::format(
          "{}: adapter '{}' has rank {} and scale {}, but the LoRA settings say rank {} and "
          "alpha / rank = {}; the file's metadata could not describe it",
          path.string(), name, m.rank(), module_scale, spec.rank, scale));
    }
    m.alpha = spec.alpha;  // exact, rather than scale * rank rounded
  }
  modules = fold_alpha_into_up(modules);
  for (auto& [name, m] : modules) {
    m.down = m.down.to(dtype);
    m.up = m.up.to(dtype);
  }
  write_lora_diffusers(path, modules, &spec);
}

std::vector<std::string> load_lora_file(const std::filesystem::path& path,
                                        FluxTransformer2DModelImpl& model, double scale) {
  return apply_lora_file(path, model, scale, LoraApplication::trainable);
}

std::vector<std::string> apply_lora_file(const std::filesystem::path& path,
                                         FluxTransformer2DModelImpl& model, double scale,
                                         LoraApplication application) {
  const LoraFileContents contents = read_lora_file(path);
  std::map<std::string, omni::LoraLinear> linears;
  for (auto& item : omni::lora_linears(model)) linears.emplace(item.first, item.second);

  std::vector<std::string> unknown;
  std::vector<std::string> mismatches;
  for (const auto& [name, m] : contents.modules) {
    auto found = linears.find(name);
    if (found == linears.end()) {
      unknown.push_back(name);
      continue;
    }
    const omni::LoraLinearImpl& linear = *found->second;
    if (m.down.size(1) != linear.in_features()) {
      mismatches.push_back(fmt::format("{}.lora_A.weight is [{}], expected [{}, {}]", name,
                                       fmt::join(m.down.sizes(), ", "), m.rank(),
                                       linear.in_features()));
    }
    if (m.up.size(0) != linear.out_features()) {
      mismatches.push_back(fmt::format("{}.lora_B.weight is [{}], expected [{}, {}]", name,
                                       fmt::join(m.up.sizes(), ", "), linear.out_features(),
                                       m.rank()));
    }
  }
  if (!unknown.empty()) {
    unknown.resize(std::min<std::size_t>(unknown.size(), 5));
    std::vector<std::string> examples;
    for (const auto& item : linears) {
      if (examples.size() == 6) break;
      examples.push_back(item.first);
    }
    throw omni::Error(fmt::format(
        "LoRA file '{}' ({} layout) adapts modules the Flux transformer does not have: {} "
        "(its linears are named like {})",
        path.string(), lora_layout_name(contents.layout), fmt::join(unknown, ", "),
        fmt::join(examples, ", ")));
  }
  if (!mismatches.empty()) {
    const std::size_t count = mismatches.size();
    mismatches.resize(std::min<std::size_t>(count, 3));
    throw omni::Error(fmt::format(
        "LoRA file '{}' does not fit this Flux transformer (a LoRA for another model or model "
        "size?): {} shape mismatches, first: {}",
        path.string(), count, fmt::join(mismatches, "; ")));
  }

  std::vector<std::string> adapted;
  torch::NoGradGuard no_grad;
  auto ordered = omni::lora_linears(model);
  for (auto& [name, holder] : ordered) {  // module order
    auto found = contents.modules.find(name);
    if (found == contents.modules.end()) continue;
    const LoraModuleWeights& m = found->second;
    omni::LoraLinearImpl& linear = *holder;
    const double module_scale = scale * m.alpha / static_cast<double>(m.rank());
    switch (application) {
      case LoraApplication::trainable:
        linear.attach_lora(m.rank(), m.alpha, omni::LoraInit::zero_b);
        linear.lora_A->weight.copy_(m.down);
        linear.lora_B->weight.copy_(m.up);
        linear.lora_scale *= scale;
        break;
      case LoraApplication::fused: {
        // W += scale * alpha / r * up @ down, summed in fp32 and rounded once.
        at::Tensor delta = at::matmul(m.up.to(at::kFloat), m.down.to(at::kFloat)) * module_scale;
        linear.weight.copy_((linear.weight.to(at::kFloat) + delta.to(linear.weight.device()))
                                .to(linear.weight.scalar_type()));
        break;
      }
      case LoraApplication::stacked:
        linear.add_frozen_adapter(m.down, m.up, module_scale);
        break;
    }
    adapted.push_back(name);
  }
  omni::freeze_all_but_lora(model);
  return adapted;
}

}  // namespace flux_kontext
