#include "flux_kontext/bfl_checkpoint.hpp"

#include <map>
#include <mutex>
#include <regex>

#include <ATen/ATen.h>
#include <fmt/format.h>

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

// BFL name (without prefix and without .weight/.bias/.scale) -> diffusers name, for the
// tensors that map one to one.
const std::vector<std::pair<std::regex, std::string>>& direct_renames() {
  static const std::vector<std::pair<std::regex, std::string>> rules = [] {
    const std::pair<const char*, const char*> table[] = {
        {R"(img_in)", "x_embedder"},
        {R"(txt_in)", "context_embedder"},
        {R"(time_in\.in_layer)", "time_text_embed.timestep_embedder.linear_1"},
        {R"(time_in\.out_layer)", "time_text_embed.timestep_embedder.linear_2"},
        {R"(guidance_in\.in_layer)", "time_text_embed.guidance_embedder.linear_1"},
        {R"(guidance_in\.out_layer)", "time_text_embed.guidance_embedder.linear_2"},
        {R"(vector_in\.in_layer)", "time_text_embed.text_embedder.linear_1"},
        {R"(vector_in\.out_layer)", "time_text_embed.text_embedder.linear_2"},
        {R"(final_layer\.linear)", "proj_out"},
        {R"(double_blocks\.(\d+)\.img_mod\.lin)", "transformer_blocks.$1.norm1.linear"},
        {R"(double_blocks\.(\d+)\.txt_mod\.lin)", "transformer_blocks.$1.norm1_context.linear"},
        {R"(double_blocks\.(\d+)\.img_attn\.norm\.query_norm)", "transformer_blocks.$1.attn.norm_q"},
        {R"(double_blocks\.(\d+)\.img_attn\.norm\.key_norm)", "transformer_blocks.$1.attn.norm_k"},
        {R"(double_blocks\.(\d+)\.txt_attn\.norm\.query_norm)",
         "transformer_blocks.$1.attn.norm_added_q"},
        {R"(double_blocks\.(\d+)\.txt_attn\.norm\.key_norm)",
         "transformer_blocks.$1.attn.norm_added_k"},
        {R"(double_blocks\.(\d+)\.img_attn\.proj)", "transformer_blocks.$1.attn.to_out.0"},
        {R"(double_blocks\.(\d+)\.txt_attn\.proj)", "transformer_blocks.$1.attn.to_add_out"},
        {R"(double_blocks\.(\d+)\.img_mlp\.0)", "transformer_blocks.$1.ff.net.0.proj"},
        {R"(double_blocks\.(\d+)\.img_mlp\.2)", "transformer_blocks.$1.ff.net.2"},
        {R"(double_blocks\.(\d+)\.txt_mlp\.0)", "transformer_blocks.$1.ff_context.net.0.proj"},
        {R"(double_blocks\.(\d+)\.txt_mlp\.2)", "transformer_blocks.$1.ff_context.net.2"},
        {R"(single_blocks\.(\d+)\.modulation\.lin)", "single_transformer_blocks.$1.norm.linear"},
        {R"(single_blocks\.(\d+)\.linear2)", "single_transformer_blocks.$1.proj_out"},
        {R"(single_blocks\.(\d+)\.norm\.query_norm)", "single_transformer_blocks.$1.attn.norm_q"},
        {R"(single_blocks\.(\d+)\.norm\.key_norm)", "single_transformer_blocks.$1.attn.norm_k"},
    };
    std::vector<std::pair<std::regex, std::string>> out;
    for (const auto& [pattern, replacement] : table) out.emplace_back(pattern, replacement);
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

  void convert(const std::string& full_name, const std::string& name) {
    static const std::regex parameter(R"((.*)\.(weight|bias|scale))");
    static const std::regex double_qkv(R"(double_blocks\.(\d+)\.(img|txt)_attn\.qkv)");
    static const std::regex single_linear1(R"(single_blocks\.(\d+)\.linear1)");
    std::smatch match;
    if (!std::regex_match(name, match, parameter)) {
      add(full_name, Part{full_name, 0, -1, false, bfl_->info(full_name)});
      return;
    }
    const std::string module = match[1];
    // BFL's RMS norms call their weight "scale".
    const std::string suffix = match[2] == "scale" ? ".weight" : "." + match[2].str();
    const omni::TensorInfo& info = bfl_->info(full_name);
    if (std::regex_match(module, match, double_qkv)) {
      const std::string base = "transformer_blocks." + match[1].str() + ".attn.";
      const bool image = match[2] == "img";
      const std::int64_t rows = info.shape.empty() ? 0 : info.shape[0] / 3;
      split(full_name,
            image ? std::vector<std::string>{base + "to_q", base + "to_k", base + "to_v"}
                  : std::vector<std::string>{base + "add_q_proj", base + "add_k_proj",
                                             base + "add_v_proj"},
            {rows, rows, rows}, suffix);
      return;
    }
    if (std::regex_match(module, match, single_linear1)) {
      // Output rows: q, k, v (inner each) then the MLP; the input dimension is inner.
      const std::string base = "single_transformer_blocks." + match[1].str() + ".";
      std::int64_t dim = info.shape.size() == 2 ? info.shape[1] : 0;
      if (info.shape.size() == 1) {
        // linear1.bias: take the inner size from the matching weight.
        const std::string weight = full_name.substr(0, full_name.size() - 4) + "weight";
        if (bfl_->contains(weight) && bfl_->info(weight).shape.size() == 2) {
          dim = bfl_->info(weight).shape[1];
        }
      }
      const std::int64_t total = info.shape.empty() ? 0 : info.shape[0];
      split(full_name,
            {base + "attn.to_q", base + "attn.to_k", base + "attn.to_v", base + "proj_mlp"},
            {dim, dim, dim, total - 3 * dim}, suffix);
      return;
    }
    if (module == "final_layer.adaLN_modulation.1") {
      add("norm_out.linear" + suffix, Part{full_name, 0, -1, true, info});
      return;
    }
    for (const auto& [pattern, replacement] : direct_renames()) {
      if (std::regex_match(module, pattern)) {
        add(std::regex_replace(module, pattern, replacement) + suffix,
            Part{full_name, 0, -1, false, info});
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
