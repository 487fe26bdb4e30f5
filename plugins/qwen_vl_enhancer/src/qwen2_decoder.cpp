#include "qwen_vl/qwen2_decoder.hpp"

#include <ATen/ATen.h>

#include "omni/torch_compat.hpp"
#include "qwen_vl/qwen_mrope.hpp"

namespace qwen_vl {

Qwen2DecoderLayerImpl::Qwen2DecoderLayerImpl(const QwenTextConfig& config)
    : heads(config.num_attention_heads),
      kv_heads(config.num_key_value_heads),
      head_dim(config.head_dim()) {
  const std::int64_t hidden = config.hidden_size;
  self_attn = register_module("self_attn", std::make_shared<torch::nn::Module>());
  q_proj = self_attn->register_module("q_proj", torch::nn::Linear(hidden, heads * head_dim));
  k_proj = self_attn->register_module("k_proj", torch::nn::Linear(hidden, kv_heads * head_dim));
  v_proj = self_attn->register_module("v_proj", torch::nn::Linear(hidden, kv_heads * head_dim));
  o_proj = self_attn->register_module(
      "o_proj", torch::nn::Linear(torch::nn::LinearOptions(heads * head_dim, hidden).bias(false)));
  mlp = register_module("mlp", QwenGatedMlp(hidden, config.intermediate_size, false));
  input_layernorm = register_module("input_layernorm", QwenRMSNorm(hidden, config.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", QwenRMSNorm(hidden, config.rms_norm_eps));
}

at::Tensor Qwen2DecoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& cos,
                                          const at::Tensor& sin, at::Tensor* cache_k,
                                          at::Tensor* cache_v) {
  const std::int64_t batch = x.size(0), tokens = x.size(1);
  const at::Tensor h = input_layernorm->forward(x);
  auto split = [&](const at::Tensor& t, std::int64_t n) {
    return t.view({batch, tokens, n, head_dim}).transpose(1, 2);  // [batch, n, tokens, d]
  };
  const at::Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);
  at::Tensor q = apply_rotary(split(q_proj->forward(h), heads), c, s);
  at::Tensor k = apply_rotary(split(k_proj->forward(h), kv_heads), c, s);
  at::Tensor v = split(v_proj->forward(h), kv_heads);
  std::int64_t past = 0;
  if (cache_k != nullptr) {
    if (cache_k->defined()) {
      past = cache_k->size(2);
      k = at::cat({*cache_k, k}, 2);
      v = at::cat({*cache_v, v}, 2);
    }
    *cache_k = k;
    *cache_v = v;
  }
  // Query head i reads KV head i / (heads / kv_heads).
  const std::int64_t groups = heads / kv_heads;
  if (groups > 1) {
    k = k.repeat_interleave(groups, 1);
    v = v.repeat_interleave(groups, 1);
  }
  at::Tensor attended;
  if (past == 0) {
    attended = omni::compat::scaled_dot_product_attention(q, k, v, {}, /*is_causal=*/true);
  } else {
    // Query n (of the new tokens) sees the cache and the new tokens up to itself. An explicit
    // mask: LibTorch 2.x aligns is_causal to the top-left when queries < keys.
    const at::Tensor allowed =
        at::ones({tokens, past + tokens}, q.options().dtype(at::kBool)).tril(past);
    attended = omni::compat::scaled_dot_product_attention(q, k, v, allowed);
  }
  const at::Tensor out = x + o_proj->forward(attended.transpose(1, 2).reshape({batch, tokens, -1}));
  return out + mlp->forward(post_attention_layernorm->forward(out));
}

Qwen2DecoderImpl::Qwen2DecoderImpl(const QwenTextConfig& config) : config_(config) {
  embed_tokens_ = register_module("embed_tokens",
                                  torch::nn::Embedding(config.vocab_size, config.hidden_size));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_->push_back(Qwen2DecoderLayer(config));
  }
  norm_ = register_module("norm", QwenRMSNorm(config.hidden_size, config.rms_norm_eps));
}

at::Tensor Qwen2DecoderImpl::embed(const at::Tensor& input_ids) {
  return embed_tokens_->forward(input_ids.to(embed_tokens_->weight.device(), at::kLong));
}

at::Tensor Qwen2DecoderImpl::forward(const at::Tensor& inputs_embeds,
                                     const at::Tensor& position_ids, KvCache* cache) {
  auto [cos, sin] = mrope_cos_sin(position_ids.to(inputs_embeds.device()), config_);
  if (cache != nullptr && cache->keys.empty()) {
    cache->keys.resize(layers_->size());
    cache->values.resize(layers_->size());
  }
  at::Tensor x = inputs_embeds;
  for (std::size_t i = 0; i < layers_->size(); ++i) {
    x = layers_[i]->as<Qwen2DecoderLayerImpl>()->forward(
        x, cos, sin, cache ? &cache->keys[i] : nullptr, cache ? &cache->values[i] : nullptr);
  }
  return norm_->forward(x);
}

}  // namespace qwen_vl
