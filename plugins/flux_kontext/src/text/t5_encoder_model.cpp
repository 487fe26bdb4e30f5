#include "flux_kontext/text/t5_encoder_model.hpp"

#include <cmath>

#include <fmt/format.h>

#include "model/activations.hpp"
#include "omni/torch_compat.hpp"
#include "omni/weight_loading.hpp"

namespace flux_kontext {
namespace {

// T5's LayerNorm: scale only, no mean subtraction, no bias; computed in fp32.
struct T5LayerNormImpl : torch::nn::Module {
  T5LayerNormImpl(std::int64_t width, double eps) : eps(eps) {
    weight = register_parameter("weight", torch::ones({width}));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor wide = x.to(at::kFloat);
    at::Tensor normed = wide * at::rsqrt(wide.pow(2).mean(-1, true) + eps);
    return weight * normed.to(weight.scalar_type());
  }
  double eps;
  at::Tensor weight;
};
TORCH_MODULE(T5LayerNorm);

struct T5AttentionImpl : torch::nn::Module {
  T5AttentionImpl(const T5EncoderConfig& config, bool has_relative_bias)
      : heads(config.num_heads), d_kv(config.d_kv) {
    const std::int64_t inner = config.num_heads * config.d_kv;
    q = register_module("q", omni::LoraLinear(config.d_model, inner, false));
    k = register_module("k", omni::LoraLinear(config.d_model, inner, false));
    v = register_module("v", omni::LoraLinear(config.d_model, inner, false));
    o = register_module("o", omni::LoraLinear(inner, config.d_model, false));
    if (has_relative_bias) {
      relative_attention_bias = register_module(
          "relative_attention_bias",
          torch::nn::Embedding(config.relative_attention_num_buckets, config.num_heads));
    }
  }
  // `bias`: [B or 1, heads, L, L] additive, fp32 (position bias plus the padding mask).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias) {
    const auto batch = x.size(0), length = x.size(1);
    auto split = [&](const at::Tensor& t) {
      return t.view({batch, length, heads, d_kv}).transpose(1, 2).to(at::kFloat);
    };
    // T5 does not scale scores by 1/sqrt(d_kv): its initialization absorbs it.
    at::Tensor attended = omni::compat::scaled_dot_product_attention(
        split(q->forward(x)), split(k->forward(x)), split(v->forward(x)), bias, false, 1.0);
    return o->forward(
        attended.transpose(1, 2).reshape({batch, length, heads * d_kv}).to(x.scalar_type()));
  }
  std::int64_t heads, d_kv;
  omni::LoraLinear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  torch::nn::Embedding relative_attention_bias{nullptr};
};
TORCH_MODULE(T5Attention);

struct T5SelfAttentionLayerImpl : torch::nn::Module {
  T5SelfAttentionLayerImpl(const T5EncoderConfig& config, bool has_relative_bias) {
    SelfAttention = register_module("SelfAttention", T5Attention(config, has_relative_bias));
    layer_norm = register_module("layer_norm", T5LayerNorm(config.d_model, config.layer_norm_epsilon));
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias) {
    return x + SelfAttention->forward(layer_norm->forward(x), bias);
  }
  T5Attention SelfAttention{nullptr};
  T5LayerNorm layer_norm{nullptr};
};
TORCH_MODULE(T5SelfAttentionLayer);

struct T5DenseImpl : torch::nn::Module {
  explicit T5DenseImpl(const T5EncoderConfig& config)
      : gated(config.is_gated_act),
        activation(parse_activation(config.dense_act_fn, "T5 config: key 'dense_act_fn'")) {
    if (gated) {
      wi_0 = register_module("wi_0", omni::LoraLinear(config.d_model, config.d_ff, false));
      wi_1 = register_module("wi_1", omni::LoraLinear(config.d_model, config.d_ff, false));
    } else {
      wi = register_module("wi", omni::LoraLinear(config.d_model, config.d_ff, false));
    }
    wo = register_module("wo", omni::LoraLinear(config.d_ff, config.d_model, false));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor hidden = gated ? apply_activation(activation, wi_0->forward(x)) * wi_1->forward(x)
                              : apply_activation(activation, wi->forward(x));
    return wo->forward(hidden);
  }
  bool gated;
  Activation activation;
  omni::LoraLinear wi{nullptr}, wi_0{nullptr}, wi_1{nullptr}, wo{nullptr};
};
TORCH_MODULE(T5Dense);

struct T5FeedForwardLayerImpl : torch::nn::Module {
  explicit T5FeedForwardLayerImpl(const T5EncoderConfig& config) {
    DenseReluDense = register_module("DenseReluDense", T5Dense(config));
    layer_norm = register_module("layer_norm", T5LayerNorm(config.d_model, config.layer_norm_epsilon));
  }
  at::Tensor forward(const at::Tensor& x) {
    return x + DenseReluDense->forward(layer_norm->forward(x));
  }
  T5Dense DenseReluDense{nullptr};
  T5LayerNorm layer_norm{nullptr};
};
TORCH_MODULE(T5FeedForwardLayer);

struct T5BlockImpl : torch::nn::Module {
  T5BlockImpl(const T5EncoderConfig& config, bool has_relative_bias) {
    layer = register_module("layer", torch::nn::ModuleList());
    attention = T5SelfAttentionLayer(config, has_relative_bias);
    feed_forward = T5FeedForwardLayer(config);
    layer->push_back(attention);
    layer->push_back(feed_forward);
  }
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias) {
    return feed_forward->forward(attention->forward(x, bias));
  }
  torch::nn::ModuleList layer{nullptr};
  T5SelfAttentionLayer attention{nullptr};
  T5FeedForwardLayer feed_forward{nullptr};
};
TORCH_MODULE(T5Block);

}  // namespace

T5EncoderModelImpl::T5EncoderModelImpl(const T5EncoderConfig& config) : config_(config) {
  shared = register_module("shared", torch::nn::Embedding(config.vocab_size, config.d_model));
  auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
  blocks = encoder->register_module("block", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config.num_layers; ++i) {
    T5Block block(config, /*has_relative_bias=*/i == 0);
    if (i == 0) relative_attention_bias = block->attention->SelfAttention->relative_attention_bias;
    blocks->push_back(block);
  }
  auto final_norm = encoder->register_module(
      "final_layer_norm", T5LayerNorm(config.d_model, config.layer_norm_epsilon));
  final_layer_norm_weight = final_norm->weight;
}

at::Tensor T5EncoderModelImpl::relative_position_bucket(const at::Tensor& relative_position,
                                                        std::int64_t num_buckets,
                                                        std::int64_t max_distance) {
  const std::int64_t half = num_buckets / 2;
  at::Tensor bucket = relative_position.gt(0).to(at::kLong) * half;
  at::Tensor distance = relative_position.abs();
  const std::int64_t max_exact = half / 2;
  // Distances past max_exact share logarithmically wider buckets; float32 as upstream.
  at::Tensor scaled = at::log(distance.to(at::kFloat) / static_cast<float>(max_exact)) /
                      std::log(static_cast<float>(max_distance) / static_cast<float>(max_exact)) *
                      static_cast<float>(half - max_exact);
  at::Tensor large = (scaled.to(at::kLong) + max_exact).clamp_max(half - 1);
  return bucket + at::where(distance.lt(max_exact), distance, large);
}

at::Tensor T5EncoderModelImpl::position_bias(std::int64_t length, const c10::Device& device) {
  at::Tensor positions = at::arange(length, at::TensorOptions().dtype(at::kLong).device(device));
  at::Tensor relative = positions.unsqueeze(0) - positions.unsqueeze(1);  // key - query
  at::Tensor buckets = relative_position_bucket(relative, config_.relative_attention_num_buckets,
                                                config_.relative_attention_max_distance);
  // [L, L, heads] -> [1, heads, L, L]
  return relative_attention_bias->forward(buckets).permute({2, 0, 1}).unsqueeze(0).to(at::kFloat);
}

at::Tensor T5EncoderModelImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  if (input_ids.dim() != 2) {
    throw omni::Error(fmt::format("T5 encoder: input_ids must be [batch, length], got {}",
                                  c10::str(input_ids.sizes())));
  }
  const c10::Device device = shared->weight.device();
  at::Tensor ids = input_ids.to(device, at::kLong);
  at::Tensor bias = position_bias(ids.size(1), device);
  if (attention_mask.defined()) {
    if (attention_mask.sizes() != input_ids.sizes()) {
      throw omni::Error(fmt::format("T5 encoder: attention_mask {} does not match input_ids {}",
                                    c10::str(attention_mask.sizes()), c10::str(input_ids.sizes())));
    }
    // Masked keys get float32's lowest value, as upstream (not -inf: a fully masked row
    // then stays finite).
    at::Tensor keep = attention_mask.to(device, at::kFloat).view({ids.size(0), 1, 1, ids.size(1)});
    bias = bias + (1.0 - keep) * std::numeric_limits<float>::lowest();
  }
  at::Tensor x = shared->forward(ids);
  for (const auto& block : *blocks) x = block->as<T5BlockImpl>()->forward(x, bias);
  at::Tensor wide = x.to(at::kFloat);
  at::Tensor normed = wide * at::rsqrt(wide.pow(2).mean(-1, true) + config_.layer_norm_epsilon);
  return final_layer_norm_weight * normed.to(final_layer_norm_weight.scalar_type());
}

T5EncoderModel load_t5_encoder_model(const std::filesystem::path& folder, c10::ScalarType dtype,
                                     c10::Device device) {
  T5EncoderModel model(T5EncoderConfig::from_file(folder / "config.json"));
  auto source = omni::TensorSource::open(folder);
  omni::WeightLoadOptions options;
  options.dtype = dtype;
  options.device = device;
  // The embedding is one tensor under two names; checkpoints hold either or both.
  if (source->contains("shared.weight")) {
    options.allow_unexpected = {"encoder\\.embed_tokens\\.weight"};
  } else {
    options.rename = [](const std::string& name) {
      return name == "encoder.embed_tokens.weight" ? std::string("shared.weight") : name;
    };
  }
  model->to(device, dtype);
  omni::load_weights(*model, *source, options);
  model->eval();
  return model;
}

}  // namespace flux_kontext
