#pragma once
// The Qwen2 decoder of Qwen2.5-VL (Qwen2_5_VLModel's text part): grouped-query attention with
// q/k/v biases and M-RoPE, RMS norms, SwiGLU. Module names mirror the checkpoint's `model.*`.
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include "qwen_vl/qwen_layers.hpp"
#include "qwen_vl/qwen_vl_config.hpp"

namespace qwen_vl {

// Keys and values of every layer for the tokens seen so far: [batch, kv_heads, tokens, d].
struct KvCache {
  std::vector<at::Tensor> keys, values;
  std::int64_t length() const {
    return keys.empty() || !keys.front().defined() ? 0 : keys.front().size(2);
  }
};

struct Qwen2DecoderLayerImpl : torch::nn::Module {
  explicit Qwen2DecoderLayerImpl(const QwenTextConfig& config);
  // x [batch, tokens, hidden]; cos/sin [batch, tokens, head_dim]. With `cache_k`/`cache_v`
  // (empty tensors on the first call) the new keys and values are appended to them.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     at::Tensor* cache_k, at::Tensor* cache_v);
  std::int64_t heads, kv_heads, head_dim;
  QwenRMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  std::shared_ptr<torch::nn::Module> self_attn;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  QwenGatedMlp mlp{nullptr};
};
TORCH_MODULE(Qwen2DecoderLayer);

class Qwen2DecoderImpl : public torch::nn::Module {
 public:
  explicit Qwen2DecoderImpl(const QwenTextConfig& config);
  at::Tensor embed(const at::Tensor& input_ids);
  // inputs_embeds [batch, tokens, hidden], position_ids int64 [3, batch, tokens]; returns the
  // final-norm hidden states. With a cache, attends to the cached tokens too and extends it.
  at::Tensor forward(const at::Tensor& inputs_embeds, const at::Tensor& position_ids,
                     KvCache* cache = nullptr);
  const QwenTextConfig& config() const { return config_; }

 private:
  QwenTextConfig config_;
  torch::nn::Embedding embed_tokens_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  QwenRMSNorm norm_{nullptr};
};
TORCH_MODULE(Qwen2Decoder);

}  // namespace qwen_vl
