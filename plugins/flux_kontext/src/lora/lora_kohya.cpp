#include "flux_kontext/lora/lora_kohya.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "model/flux_module_names.hpp"
#include "omni/error.hpp"

namespace flux_kontext {
namespace {

constexpr const char* kDown = ".lora_down.weight";
constexpr const char* kUp = ".lora_up.weight";
constexpr const char* kAlpha = ".alpha";

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

at::Tensor swap_halves(const at::Tensor& t) {
  const std::int64_t half = t.size(0) / 2;
  return at::cat({t.narrow(0, half, half), t.narrow(0, 0, half)}, 0);
}

// Output rows of each part of a fused linear whose input size is `inner`: q, k, v have
// `inner` rows; single blocks' MLP input has the rest (`mlp_rows`, 4 x inner in Flux).
std::vector<std::int64_t> part_rows(std::size_t parts, std::int64_t inner, std::int64_t mlp_rows) {
  std::vector<std::int64_t> rows(parts, inner);
  if (parts == 4) rows[3] = mlp_rows;
  return rows;
}

at::Tensor scalar_alpha(double alpha) { return at::scalar_tensor(alpha, at::kFloat); }

// Writes the k parts of one fused BFL linear as one block-diagonal LoRA.
void fuse_parts(const std::string& kohya, const std::vector<const LoraModuleWeights*>& parts,
                const std::vector<std::string>& part_names, const std::string& source,
                omni::NamedTensors& out) {
  const LoraModuleWeights* first = nullptr;
  std::size_t first_index = 0;
  for (std::size_t j = 0; j < parts.size(); ++j) {
    if (parts[j] && !first) {
      first = parts[j];
      first_index = j;
    }
  }
  const std::int64_t rank = first->rank();
  const std::int64_t inner = first->down.size(1);
  for (std::size_t j = 0; j < parts.size(); ++j) {
    if (!parts[j]) continue;
    if (parts[j]->rank() != rank || parts[j]->alpha != first->alpha ||
        parts[j]->down.size(1) != inner) {
      throw omni::Error(fmt::format(
          "{}: '{}' (rank {}, alpha {}, {} inputs) and '{}' (rank {}, alpha {}, {} inputs) are "
          "parts of the one BFL linear '{}'; kohya layout stores them as one LoRA, which needs "
          "equal ranks, alphas and inputs",
          source, part_names[first_index], rank, first->alpha, inner, part_names[j],
          parts[j]->rank(), parts[j]->alpha, parts[j]->down.size(1), kohya));
    }
  }
  std::int64_t mlp_rows = 4 * inner;  // Flux's mlp_ratio, when the MLP part is not adapted
  if (parts.size() == 4 && parts[3]) mlp_rows = parts[3]->up.size(0);
  const std::vector<std::int64_t> rows = part_rows(parts.size(), inner, mlp_rows);
  std::int64_t total_rows = 0;
  for (std::int64_t r : rows) total_rows += r;
  const auto k = static_cast<std::int64_t>(parts.size());
  const auto options = first->down.options();
  at::Tensor down = at::zeros({k * rank, inner}, options);
  at::Tensor up = at::zeros({total_rows, k * rank}, first->up.options());
  std::int64_t offset = 0;
  for (std::int64_t j = 0; j < k; ++j) {
    if (const LoraModuleWeights* part = parts[static_cast<std::size_t>(j)]) {
      if (part->up.size(0) != rows[static_cast<std::size_t>(j)]) {
        throw omni::Error(fmt::format("{}: '{}' has {} outputs, expected {} as a part of '{}'",
                                      source, part_names[static_cast<std::size_t>(j)],
                                      part->up.size(0), rows[static_cast<std::size_t>(j)], kohya));
      }
      down.narrow(0, j * rank, rank).copy_(part->down);
      up.narrow(0, offset, rows[static_cast<std::size_t>(j)]).narrow(1, j * rank, rank).copy_(part->up);
    }
    offset += rows[static_cast<std::size_t>(j)];
  }
  out.emplace_back(kohya + kDown, down);
  out.emplace_back(kohya + kUp, up);
  out.emplace_back(kohya + kAlpha, scalar_alpha(first->alpha * static_cast<double>(k)));
}

struct KohyaModule {
  at::Tensor down, up;
  std::optional<double> alpha;
};

// Splits one fused kohya LoRA into its diffusers parts (see the header for the rules).
void split_fused(const std::string& kohya, const KohyaModule& m,
                 const std::vector<std::string>& part_names, const std::string& source,
                 LoraModules& out) {
  const auto k = static_cast<std::int64_t>(part_names.size());
  const std::int64_t rank = m.down.size(0);
  const std::int64_t inner = m.down.size(1);
  const std::int64_t total_rows = m.up.size(0);
  const std::int64_t mlp_rows = total_rows - 3 * inner;
  if ((k == 3 && total_rows != 3 * inner) || (k == 4 && mlp_rows <= 0)) {
    throw omni::Error(fmt::format(
        "{}: '{}{}' has {} outputs for {} inputs, which is not a fused {} of Flux", source,
        kohya, kUp, total_rows, inner, k == 3 ? "q/k/v" : "q/k/v/MLP"));
  }
  const std::vector<std::int64_t> rows = part_rows(part_names.size(), inner, mlp_rows);
  const double alpha = m.alpha.value_or(static_cast<double>(rank));

  bool block_diagonal = rank % k == 0;
  const std::int64_t part_rank = rank / k;
  if (block_diagonal) {
    std::int64_t offset = 0;
    for (std::int64_t j = 0; j < k && block_diagonal; ++j) {
      const at::Tensor row_block = m.up.narrow(0, offset, rows[static_cast<std::size_t>(j)]);
      for (std::int64_t c = 0; c < k; ++c) {
        if (c != j && row_block.narrow(1, c * part_rank, part_rank).count_nonzero().item<std::int64_t>() != 0) {
          block_diagonal = false;
          break;
        }
      }
      offset += rows[static_cast<std::size_t>(j)];
    }
  }

  std::vector<LoraModuleWeights> parts;
  std::int64_t offset = 0;
  for (std::int64_t j = 0; j < k; ++j) {
    const std::int64_t n = rows[static_cast<std::size_t>(j)];
    LoraModuleWeights part;
    if (block_diagonal) {
      part.down = m.down.narrow(0, j * part_rank, part_rank);
      part.up = m.up.narrow(0, offset, n).narrow(1, j * part_rank, part_rank);
      part.alpha = alpha / static_cast<double>(k);
    } else {
      part.down = m.down;
      part.up = m.up.narrow(0, offset, n);
      part.alpha = alpha;
    }
    parts.push_back(std::move(part));
    offset += n;
  }
  // A part written as a zero block was not adapted: drop it, unless the whole LoRA is zero.
  std::vector<bool> zero(parts.size());
  bool all_zero = true;
  for (std::size_t j = 0; j < parts.size(); ++j) {
    zero[j] = block_diagonal && parts[j].down.count_nonzero().item<std::int64_t>() == 0 &&
              parts[j].up.count_nonzero().item<std::int64_t>() == 0;
    all_zero = all_zero && zero[j];
  }
  for (std::size_t j = 0; j < parts.size(); ++j) {
    if (zero[j] && !all_zero) continue;
    out.emplace(part_names[j], std::move(parts[j]));
  }
}

}  // namespace

bool is_kohya_lora(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (name.rfind("lora_unet_", 0) == 0 || ends_with(name, kDown) || ends_with(name, kUp)) {
      return true;
    }
  }
  return false;
}

omni::NamedTensors lora_to_kohya(const LoraModules& modules, const std::string& source) {
  omni::NamedTensors out;
  std::set<std::string> used;
  // Fused linears, by block index.
  for (const detail::FusedModule& fused : detail::fused_modules()) {
    std::set<std::string> indices;
    for (const std::string& part_template : fused.parts) {
      const detail::NameTemplate part(part_template);
      for (const auto& item : modules) {
        if (auto index = part.match(item.first)) indices.insert(*index);
      }
    }
    for (const std::string& index : indices) {
      std::vector<const LoraModuleWeights*> parts;
      std::vector<std::string> names;
      for (const std::string& part_template : fused.parts) {
        names.push_back(detail::NameTemplate(part_template).fill(index));
        auto found = modules.find(names.back());
        parts.push_back(found == modules.end() ? nullptr : &found->second);
        if (found != modules.end()) used.insert(found->first);
      }
      fuse_parts(detail::kohya_name(detail::NameTemplate(fused.bfl).fill(index)), parts, names,
                 source, out);
    }
  }
  for (const auto& [name, weights] : modules) {
    if (used.count(name)) continue;
    if (name == detail::kSwappedDiffusersModule) {
      const std::string kohya = detail::kohya_name(detail::kSwappedBflModule);
      out.emplace_back(kohya + kDown, weights.down);
      out.emplace_back(kohya + kUp, swap_halves(weights.up));
      out.emplace_back(kohya + kAlpha, scalar_alpha(weights.alpha));
      continue;
    }
    bool found = false;
    for (const detail::RenamedModule& renamed : detail::renamed_modules()) {
      if (!renamed.linear) continue;
      if (auto index = detail::NameTemplate(renamed.diffusers).match(name)) {
        const std::string kohya = detail::kohya_name(detail::NameTemplate(renamed.bfl).fill(*index));
        out.emplace_back(kohya + kDown, weights.down);
        out.emplace_back(kohya + kUp, weights.up);
        out.emplace_back(kohya + kAlpha, scalar_alpha(weights.alpha));
        found = true;
        break;
      }
    }
    if (!found) {
      throw omni::Error(fmt::format(
          "{}: LoRA module '{}' is not a linear of the Flux transformer that kohya layout can "
          "name (expected diffusers names such as transformer_blocks.0.attn.to_q)",
          source, name));
    }
  }
  return out;
}

LoraModules lora_from_kohya(const omni::SafetensorsFile& file) {
  const std::string source = file.path().string();
  std::map<std::string, KohyaModule> kohya;
  std::vector<std::string> unknown;
  for (const std::string& key : file.names()) {
    std::string module;
    for (const char* suffix : {kDown, kUp, kAlpha}) {
      if (ends_with(key, suffix)) module = key.substr(0, key.size() - std::string(suffix).size());
    }
    if (module.empty() || module.rfind("lora_unet_", 0) != 0) {
      unknown.push_back(key);
      continue;
    }
    KohyaModule& m = kohya[module];
    if (ends_with(key, kDown)) {
      m.down = file.tensor(key);
    } else if (ends_with(key, kUp)) {
      m.up = file.tensor(key);
    } else {
      const at::Tensor alpha = file.tensor(key);
      if (alpha.numel() != 1) {
        throw omni::Error(fmt::format("{}: '{}' has {} values, expected one (the LoRA alpha)",
                                      source, key, alpha.numel()));
      }
      m.alpha = alpha.to(at::kDouble).item<double>();
    }
  }
  if (!unknown.empty()) {
    unknown.resize(std::min<std::size_t>(unknown.size(), 5));
    throw omni::Error(fmt::format(
        "{}: unknown keys in a kohya-layout LoRA (expected lora_unet_<BFL module>.lora_down"
        ".weight / .lora_up.weight / .alpha, of the Flux transformer only): {}",
        source, fmt::join(unknown, ", ")));
  }

  LoraModules out;
  for (const auto& [name, m] : kohya) {
    if (!m.down.defined() || !m.up.defined()) {
      throw omni::Error(fmt::format("{}: '{}' has no {}", source, name,
                                    m.down.defined() ? kUp + 1 : kDown + 1));
    }
    if (m.down.dim() != 2 || m.up.dim() != 2 || m.up.size(1) != m.down.size(0)) {
      throw omni::Error(fmt::format(
          "{}: '{}' has lora_down [{}] and lora_up [{}], expected [rank, in] and [out, rank]",
          source, name, fmt::join(m.down.sizes(), ", "), fmt::join(m.up.sizes(), ", ")));
    }
    const double alpha = m.alpha.value_or(static_cast<double>(m.down.size(0)));
    bool found = false;
    for (const detail::FusedModule& fused : detail::fused_modules()) {
      if (auto index = detail::NameTemplate(detail::kohya_name(fused.bfl)).match(name)) {
        std::vector<std::string> parts;
        for (const std::string& part : fused.parts) {
          parts.push_back(detail::NameTemplate(part).fill(*index));
        }
        split_fused(name, m, parts, source, out);
        found = true;
        break;
      }
    }
    if (!found && name == detail::kohya_name(detail::kSwappedBflModule)) {
      out[detail::kSwappedDiffusersModule] = LoraModuleWeights{m.down, swap_halves(m.up), alpha};
      found = true;
    }
    for (std::size_t i = 0; !found && i < detail::renamed_modules().size(); ++i) {
      const detail::RenamedModule& renamed = detail::renamed_modules()[i];
      if (!renamed.linear) continue;
      if (auto index = detail::NameTemplate(detail::kohya_name(renamed.bfl)).match(name)) {
        out[detail::NameTemplate(renamed.diffusers).fill(*index)] =
            LoraModuleWeights{m.down, m.up, alpha};
        found = true;
      }
    }
    if (!found) {
      throw omni::Error(fmt::format(
          "{}: '{}' names no linear of the Flux transformer (expected e.g. "
          "lora_unet_double_blocks_0_img_attn_qkv or lora_unet_single_blocks_0_linear1)",
          source, name));
    }
  }
  return out;
}

void write_lora_kohya(const std::filesystem::path& path, const LoraModules& modules) {
  omni::save_safetensors(path, lora_to_kohya(fold_alpha_into_up(modules), path.string()),
                         {{"format", "pt"}, {"omni_lora_layout", "kohya"}});
}

}  // namespace flux_kontext
