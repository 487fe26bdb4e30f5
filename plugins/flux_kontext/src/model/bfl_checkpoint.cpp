#include "flux_kontext/model/bfl_checkpoint.hpp"

#include <map>
#include <mutex>
#include <regex>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "model/flux_module_names.hpp"
#include "omni/error.hpp"

namespace flux_kontext {
namespace {

// One diffusers tensor: rows [offset, offset + rows) of BFL tensor `source_name`, or the
// whole tensor with its two halves swapped.
struct Part {
  std::string source_name;
  std::int64_t offset = 0;
  std::int64_t rows = -1;  // -1: all
  bool swap_halves = false;
  omni::TensorInfo info;
};

// The one-to-one renames of flux_module_names.hpp, compiled once.
const std::vector<std::pair<detail::NameTemplate, detail::NameTemplate>>& direct_renames() {
  static const std::vector<std::pair<detail::NameTemplate, detail::NameTemplate>> rules = [] {
    std::vector<std::pair<detail::NameTemplate, detail::NameTemplate>> out;
    for (const detail::RenamedModule& module : detail::renamed_modules()) {
      out.emplace_back(detail::NameTemplate(module.bfl), detail::NameTemplate(module.diffusers));
    }
    return out;
  }();
  return rules;
}

class BflAsDiffusers final : public omni::TensorSource {
 public:
  BflAsDiffusers(std::shared_ptr<const omni::TensorSource> bfl, const std::string& prefix)
      : bfl_(std::move(bfl)) {
    for (const std::string& full_name : bfl_->names()) {
      if (full_name.compare(0, prefix.size(), prefix) != 0) {
        add(full_name, Part{full_name, 0, -1, false, bfl_->info(full_name)});
        continue;
      }
      convert(full_name, full_name.substr(prefix.size()));
    }
  }

  std::string description() const override {
    return bfl_->description() + " (BFL layout, read under diffusers names)";
  }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (const auto& item : parts_) out.push_back(item.first);
    return out;
  }
  bool contains(std::string_view name) const override {
    return parts_.count(std::string(name)) != 0;
  }
  const omni::TensorInfo& info(std::string_view name) const override { return part(name).info; }
  at::Tensor tensor(std::string_view name) const override {
    const Part& p = part(name);
    at::Tensor whole = bfl_->tensor(p.source_name);
    if (p.swap_halves) {
      const std::int64_t half = whole.size(0) / 2;
      return at::cat({whole.narrow(0, half, half), whole.narrow(0, 0, half)}, 0);
    }
    return p.rows < 0 ? whole : whole.narrow(0, p.offset, p.rows);
  }
  std::map<std::string, std::string> metadata() const override { return bfl_->metadata(); }
  void release(std::string_view name) const override {
    // A fused tensor's pages go once every part of it has been copied out.
    const std::string& source_name = part(name).source_name;
    std::lock_guard<std::mutex> lock(mutex_);
    if (--pending_[source_name] == 0) bfl_->release(source_name);
  }

 private:
  const Part& part(std::string_view name) const {
    auto found = parts_.find(std::string(name));
    if (found == parts_.end()) {
      throw omni::Error(fmt::format("{} has no tensor '{}'", description(), name));
    }
    return found->second;
  }

  void add(const std::string& name, Part p) {
    p.info.name = name;
    if (p.rows >= 0) p.info.shape[0] = p.rows;
    ++pending_[p.source_name];
    if (!parts_.emplace(name, std::move(p)).second) {
      throw omni::Error(fmt::format("{}: two tensors convert to diffusers name '{}'",
                                    bfl_->description(), name));
    }
  }

  void split(const std::string& full_name, const std::vector<std::string>& names,
             const std::vector<std::int64_t>& rows, const std::string& suffix) {
    const omni::TensorInfo& info = bfl_->info(full_name);
    std::int64_t total = 0;
    for (std::int64_t r : rows) total += r;
    if (info.shape.empty() || info.shape[0] != total) {
      throw omni::Error(fmt::format("{}: tensor '{}' has {} rows, expected {} to split it into {}",
                                    bfl_->description(), full_name,
                                    info.shape.empty() ? 0 : info.shape[0], total, names.size()));
    }
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
      add(names[i] + suffix, Part{full_name, offset, rows[i], false, info});
      offset += rows[i];
    }
  }

  // Rows of each part of a fused tensor: q, k, v (three equal thirds for the attention's qkv;
  // in single blocks' linear1, `inner` rows each, the input size, then the MLP's rest).
  std::vector<std::int64_t> fused_rows(const std::string& full_name, const omni::TensorInfo& info,
                                       std::size_t parts) const {
    const std::int64_t total = info.shape.empty() ? 0 : info.shape[0];
    if (parts == 3) return {total / 3, total / 3, total / 3};
    std::int64_t dim = info.shape.size() == 2 ? info.shape[1] : 0;
    if (info.shape.size() == 1) {
      // linear1.bias: take the inner size from the matching weight.
      const std::string weight = full_name.substr(0, full_name.size() - 4) + "weight";
      if (bfl_->contains(weight) && bfl_->info(weight).shape.size() == 2) {
        dim = bfl_->info(weight).shape[1];
      }
    }
    return {dim, dim, dim, total - 3 * dim};
  }

  void convert(const std::string& full_name, const std::string& name) {
    static const std::regex parameter(R"((.*)\.(weight|bias|scale))");
    std::smatch match;
    if (!std::regex_match(name, match, parameter)) {
      add(full_name, Part{full_name, 0, -1, false, bfl_->info(full_name)});
      return;
    }
    const std::string module = match[1];
    // BFL's RMS norms call their weight "scale".
    const std::string suffix = match[2] == "scale" ? ".weight" : "." + match[2].str();
    const omni::TensorInfo& info = bfl_->info(full_name);
    for (const detail::FusedModule& fused : detail::fused_modules()) {
      const std::optional<std::string> index = detail::NameTemplate(fused.bfl).match(module);
      if (!index) continue;
      std::vector<std::string> names;
      for (const std::string& part : fused.parts) {
        names.push_back(detail::NameTemplate(part).fill(*index));
      }
      split(full_name, names, fused_rows(full_name, info, names.size()), suffix);
      return;
    }
    if (module == detail::kSwappedBflModule) {
      add(detail::kSwappedDiffusersModule + suffix, Part{full_name, 0, -1, true, info});
      return;
    }
    for (const auto& [bfl, diffusers] : direct_renames()) {
      if (const std::optional<std::string> index = bfl.match(module)) {
        add(diffusers.fill(*index) + suffix, Part{full_name, 0, -1, false, info});
        return;
      }
    }
    add(full_name, Part{full_name, 0, -1, false, info});
  }

  std::shared_ptr<const omni::TensorSource> bfl_;
  std::map<std::string, Part> parts_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, int> pending_;
};

std::int64_t count_blocks(const omni::TensorSource& source, const std::string& prefix,
                          const std::string& kind) {
  const std::regex pattern(prefix + kind + R"(\.(\d+)\..*)");
  std::int64_t count = 0;
  std::smatch match;
  for (const std::string& name : source.names()) {
    if (std::regex_match(name, match, pattern)) {
      count = std::max<std::int64_t>(count, std::stoll(match[1]) + 1);
    }
  }
  return count;
}

}  // namespace

std::optional<std::string> bfl_prefix(const omni::TensorSource& source) {
  for (const char* prefix : {"", "model.diffusion_model.", "diffusion_model."}) {
    const std::string p = prefix;
    if (source.contains(p + "img_in.weight") && source.contains(p + "final_layer.linear.weight")) {
      return p;
    }
  }
  return std::nullopt;
}

std::shared_ptr<const omni::TensorSource> bfl_as_diffusers(
    std::shared_ptr<const omni::TensorSource> bfl, const std::string& prefix) {
  return std::make_shared<BflAsDiffusers>(std::move(bfl), prefix);
}

FluxTransformerConfig config_from_bfl(const omni::TensorSource& source,
                                      const std::string& prefix) {
  const auto shape = [&](const std::string& name) {
    if (!source.contains(prefix + name)) {
      throw omni::Error(fmt::format("{}: BFL Flux checkpoint without '{}{}'",
                                    source.description(), prefix, name));
    }
    const std::vector<std::int64_t>& s = source.info(prefix + name).shape;
    if (s.empty()) {
      throw omni::Error(fmt::format("{}: '{}{}' is a scalar", source.description(), prefix, name));
    }
    return s;
  };
  FluxTransformerConfig config;
  const std::vector<std::int64_t> img_in = shape("img_in.weight");
  const std::vector<std::int64_t> final_linear = shape("final_layer.linear.weight");
  const std::int64_t inner = img_in[0];
  config.in_channels = img_in.at(1);
  config.patch_size = 1;
  config.out_channels = final_linear[0];
  config.joint_attention_dim = shape("txt_in.weight").at(1);
  config.pooled_projection_dim = shape("vector_in.in_layer.weight").at(1);
  config.guidance_embeds = source.contains(prefix + "guidance_in.in_layer.weight");
  config.num_layers = count_blocks(source, prefix, "double_blocks");
  config.num_single_layers = count_blocks(source, prefix, "single_blocks");
  config.attention_head_dim = config.num_layers > 0
                                  ? shape("double_blocks.0.img_attn.norm.query_norm.scale")[0]
                                  : shape("single_blocks.0.norm.query_norm.scale")[0];
  if (config.attention_head_dim <= 0 || inner % config.attention_head_dim != 0) {
    throw omni::Error(fmt::format("{}: hidden size {} is not a multiple of the head size {}",
                                  source.description(), inner, config.attention_head_dim));
  }
  config.num_attention_heads = inner / config.attention_head_dim;
  if (config.attention_head_dim != 128) {
    throw omni::Error(fmt::format(
        "{}: head size {} differs from FLUX.1's 128, so the RoPE axes (not stored in BFL "
        "checkpoints) are unknown; use a diffusers folder with its config.json",
        source.description(), config.attention_head_dim));
  }
  config.axes_dims_rope = {16, 56, 56};
  config.validate(source.description());
  return config;
}

}  // namespace flux_kontext
