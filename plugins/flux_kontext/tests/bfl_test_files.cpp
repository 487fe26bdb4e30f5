// Black Forest Labs' single-file layout made from diffusers weights, for the tests that load
// BFL checkpoints (transformer loading, model.transformer_path).
#include "bfl_test_files.hpp"

#include <map>
#include <stdexcept>

#include <ATen/ATen.h>

namespace flux_test {

// The inverse of bfl_checkpoint.cpp's mapping, written independently: diffusers names ->
// BFL names, fusing q/k/v (and the single blocks' MLP input) and swapping norm_out's halves.
omni::NamedTensors diffusers_to_bfl(const omni::TensorSource& diffusers,
                                    const flux_kontext::FluxTransformerConfig& config,
                                    const std::string& prefix) {
  std::map<std::string, at::Tensor> in;
  for (const std::string& name : diffusers.names()) in[name] = diffusers.tensor(name).clone();
  omni::NamedTensors out;
  const auto take = [&](const std::string& name) {
    auto found = in.find(name);
    if (found == in.end()) throw std::runtime_error("diffusers tensor missing: " + name);
    at::Tensor t = found->second;
    in.erase(found);
    return t;
  };
  const auto put = [&](const std::string& name, const at::Tensor& t) {
    out.emplace_back(prefix + name, t);
  };
  const auto move = [&](const std::string& from, const std::string& to, bool bias = true) {
    put(to + ".weight", take(from + ".weight"));
    if (bias) put(to + ".bias", take(from + ".bias"));
  };
  const auto fuse = [&](const std::vector<std::string>& from, const std::string& to) {
    for (const char* kind : {".weight", ".bias"}) {
      std::vector<at::Tensor> parts;
      for (const std::string& name : from) parts.push_back(take(name + kind));
      put(to + kind, at::cat(parts, 0));
    }
  };
  move("x_embedder", "img_in");
  move("context_embedder", "txt_in");
  move("time_text_embed.timestep_embedder.linear_1", "time_in.in_layer");
  move("time_text_embed.timestep_embedder.linear_2", "time_in.out_layer");
  move("time_text_embed.guidance_embedder.linear_1", "guidance_in.in_layer");
  move("time_text_embed.guidance_embedder.linear_2", "guidance_in.out_layer");
  move("time_text_embed.text_embedder.linear_1", "vector_in.in_layer");
  move("time_text_embed.text_embedder.linear_2", "vector_in.out_layer");
  for (std::int64_t i = 0; i < config.num_layers; ++i) {
    const std::string d = "transformer_blocks." + std::to_string(i) + ".";
    const std::string b = "double_blocks." + std::to_string(i) + ".";
    move(d + "norm1.linear", b + "img_mod.lin");
    move(d + "norm1_context.linear", b + "txt_mod.lin");
    fuse({d + "attn.to_q", d + "attn.to_k", d + "attn.to_v"}, b + "img_attn.qkv");
    fuse({d + "attn.add_q_proj", d + "attn.add_k_proj", d + "attn.add_v_proj"}, b + "txt_attn.qkv");
    put(b + "img_attn.norm.query_norm.scale", take(d + "attn.norm_q.weight"));
    put(b + "img_attn.norm.key_norm.scale", take(d + "attn.norm_k.weight"));
    put(b + "txt_attn.norm.query_norm.scale", take(d + "attn.norm_added_q.weight"));
    put(b + "txt_attn.norm.key_norm.scale", take(d + "attn.norm_added_k.weight"));
    move(d + "attn.to_out.0", b + "img_attn.proj");
    move(d + "attn.to_add_out", b + "txt_attn.proj");
    move(d + "ff.net.0.proj", b + "img_mlp.0");
    move(d + "ff.net.2", b + "img_mlp.2");
    move(d + "ff_context.net.0.proj", b + "txt_mlp.0");
    move(d + "ff_context.net.2", b + "txt_mlp.2");
  }
  for (std::int64_t i = 0; i < config.num_single_layers; ++i) {
    const std::string d = "single_transformer_blocks." + std::to_string(i) + ".";
    const std::string b = "single_blocks." + std::to_string(i) + ".";
    fuse({d + "attn.to_q", d + "attn.to_k", d + "attn.to_v", d + "proj_mlp"}, b + "linear1");
    move(d + "proj_out", b + "linear2");
    put(b + "norm.query_norm.scale", take(d + "attn.norm_q.weight"));
    put(b + "norm.key_norm.scale", take(d + "attn.norm_k.weight"));
    move(d + "norm.linear", b + "modulation.lin");
  }
  for (const char* kind : {".weight", ".bias"}) {
    const std::vector<at::Tensor> scale_shift = take(std::string("norm_out.linear") + kind).chunk(2, 0);
    put(std::string("final_layer.adaLN_modulation.1") + kind,
        at::cat({scale_shift[1], scale_shift[0]}, 0));
  }
  move("proj_out", "final_layer.linear");
  if (!in.empty()) {
    throw std::runtime_error("diffusers tensors left unconverted: " + std::to_string(in.size()));
  }
  return out;
}

}  // namespace flux_test
