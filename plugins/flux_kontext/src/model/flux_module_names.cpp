#include "model/flux_module_names.hpp"

#include <algorithm>
#include <cctype>

namespace flux_kontext::detail {

const std::vector<RenamedModule>& renamed_modules() {
  static const std::vector<RenamedModule> table{
      {"img_in", "x_embedder"},
      {"txt_in", "context_embedder"},
      {"time_in.in_layer", "time_text_embed.timestep_embedder.linear_1"},
      {"time_in.out_layer", "time_text_embed.timestep_embedder.linear_2"},
      {"guidance_in.in_layer", "time_text_embed.guidance_embedder.linear_1"},
      {"guidance_in.out_layer", "time_text_embed.guidance_embedder.linear_2"},
      {"vector_in.in_layer", "time_text_embed.text_embedder.linear_1"},
      {"vector_in.out_layer", "time_text_embed.text_embedder.linear_2"},
      {"final_layer.linear", "proj_out"},
      {"double_blocks.{}.img_mod.lin", "transformer_blocks.{}.norm1.linear"},
      {"double_blocks.{}.txt_mod.lin", "transformer_blocks.{}.norm1_context.linear"},
      {"double_blocks.{}.img_attn.norm.query_norm", "transformer_blocks.{}.attn.norm_q", false},
      {"double_blocks.{}.img_attn.norm.key_norm", "transformer_blocks.{}.attn.norm_k", false},
      {"double_blocks.{}.txt_attn.norm.query_norm", "transformer_blocks.{}.attn.norm_added_q",
       false},
      {"double_blocks.{}.txt_attn.norm.key_norm", "transformer_blocks.{}.attn.norm_added_k", false},
      {"double_blocks.{}.img_attn.proj", "transformer_blocks.{}.attn.to_out.0"},
      {"double_blocks.{}.txt_attn.proj", "transformer_blocks.{}.attn.to_add_out"},
      {"double_blocks.{}.img_mlp.0", "transformer_blocks.{}.ff.net.0.proj"},
      {"double_blocks.{}.img_mlp.2", "transformer_blocks.{}.ff.net.2"},
      {"double_blocks.{}.txt_mlp.0", "transformer_blocks.{}.ff_context.net.0.proj"},
      {"double_blocks.{}.txt_mlp.2", "transformer_blocks.{}.ff_context.net.2"},
      {"single_blocks.{}.modulation.lin", "single_transformer_blocks.{}.norm.linear"},
      {"single_blocks.{}.linear2", "single_transformer_blocks.{}.proj_out"},
      {"single_blocks.{}.norm.query_norm", "single_transformer_blocks.{}.attn.norm_q", false},
      {"single_blocks.{}.norm.key_norm", "single_transformer_blocks.{}.attn.norm_k", false},
  };
  return table;
}

const std::vector<FusedModule>& fused_modules() {
  static const std::vector<FusedModule> table{
      {"double_blocks.{}.img_attn.qkv",
       {"transformer_blocks.{}.attn.to_q", "transformer_blocks.{}.attn.to_k",
        "transformer_blocks.{}.attn.to_v"}},
      {"double_blocks.{}.txt_attn.qkv",
       {"transformer_blocks.{}.attn.add_q_proj", "transformer_blocks.{}.attn.add_k_proj",
        "transformer_blocks.{}.attn.add_v_proj"}},
      {"single_blocks.{}.linear1",
       {"single_transformer_blocks.{}.attn.to_q", "single_transformer_blocks.{}.attn.to_k",
        "single_transformer_blocks.{}.attn.to_v", "single_transformer_blocks.{}.proj_mlp"}},
  };
  return table;
}

NameTemplate::NameTemplate(std::string text) : text_(std::move(text)) {
  const std::size_t at = text_.find("{}");
  has_index_ = at != std::string::npos;
  before_ = has_index_ ? text_.substr(0, at) : text_;
  if (has_index_) after_ = text_.substr(at + 2);
}

std::optional<std::string> NameTemplate::match(const std::string& name) const {
  if (!has_index_) {
    if (name == text_) return std::string();
    return std::nullopt;
  }
  if (name.size() <= before_.size() + after_.size() || name.compare(0, before_.size(), before_) != 0 ||
      name.compare(name.size() - after_.size(), after_.size(), after_) != 0) {
    return std::nullopt;
  }
  std::string index = name.substr(before_.size(), name.size() - before_.size() - after_.size());
  if (!std::all_of(index.begin(), index.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  return index;
}

std::string NameTemplate::fill(const std::string& index) const {
  return has_index_ ? before_ + index + after_ : text_;
}

std::string kohya_name(const std::string& bfl_name) {
  std::string out = "lora_unet_" + bfl_name;
  std::replace(out.begin() + 10, out.end(), '.', '_');
  return out;
}

}  // namespace flux_kontext::detail
