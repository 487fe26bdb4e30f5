#pragma once
// Flux attention (diffusers Attention + FluxAttnProcessor2_0): q/k/v projections with RMS
// q/k norms (eps 1e-6), rotary embedding, scaled dot-product attention over all tokens.
// Joint form (double-stream blocks): the text stream has its own add_{q,k,v}_proj,
// norm_added_{q,k} and to_add_out; text tokens come first in the joint sequence.
// Single-stream blocks use the plain form without an output projection (pre_only).
#include <cstdint>
#include <utility>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "flux_kontext/model/flux_norms.hpp"
#include "flux_kontext/model/flux_rope.hpp"
#include "omni/lora_linear.hpp"

namespace flux_kontext {

struct FluxAttentionOptions {
  std::int64_t dim = 0;
  std::int64_t heads = 0;
  std::int64_t head_dim = 0;
  bool joint = false;        // text-stream projections (double-stream blocks)
  bool output_proj = false;  // to_out.0 (double-stream blocks)
};

class FluxAttentionImpl : public torch::nn::Module {
 public:
  explicit FluxAttentionImpl(const FluxAttentionOptions& options);

  // Joint form: returns (image output, text output), each through its output projection.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& image, const at::Tensor& text,
                                            const RotaryEmbedding& rope);
  // Plain form over `tokens` [batch, tokens, dim]: the attention result, unprojected.
  at::Tensor forward(const at::Tensor& tokens, const RotaryEmbedding& rope);

  omni::LoraLinear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  RMSNorm norm_q{nullptr}, norm_k{nullptr};
  omni::LoraLinear add_q_proj{nullptr}, add_k_proj{nullptr}, add_v_proj{nullptr};
  RMSNorm norm_added_q{nullptr}, norm_added_k{nullptr};
  torch::nn::ModuleList to_out{nullptr};  // to_out.0; upstream's to_out.1 is a dropout
  omni::LoraLinear out_proj{nullptr};     // typed handle on to_out[0]
  omni::LoraLinear to_add_out{nullptr};

 private:
  // [batch, tokens, dim] -> normalized [batch, tokens, heads, head_dim] heads.
  at::Tensor heads(const at::Tensor& x, omni::LoraLinear& projection, RMSNorm* norm) const;
  at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    const RotaryEmbedding& rope) const;

  FluxAttentionOptions options_;
};
TORCH_MODULE(FluxAttention);

}  // namespace flux_kontext
