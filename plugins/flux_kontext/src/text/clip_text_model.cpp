#include "flux_kontext/text/clip_text_model.hpp"

#include <fmt/format.h>
#include <torch/nn/functional/normalization.h>

#include "model/activations.hpp"
#include "omni/torch_compat.hpp"
#include "omni/weight_loading.hpp"

namespace flux_kontext {
namespace {

// The id of CLIP's real end-of-text token, which upstream's pooling rule looks for.
constexpr std::int64_t clip_end_of_text = 49407;

struct ClipAttentionImpl : torch::nn::Module {
  ClipAttentionImpl(std::int64_t hidden, std::int64_t heads) : heads(heads) {
    q_proj = register_module("q_proj", omni::LoraLinear(hidden, hidden));
    k_proj = register_module("k_proj", omni::LoraLinear(hidden, hidden));
    v_proj = register_module("v_proj", omni::LoraLinear(hidden, hidden));
    out_proj = register_module("out_proj", omni::LoraLinear(hidden, hidden));
  }
  at::Tensor forward(const at::Tensor& x) {
    const auto batch = x.size(0), length = x.size(1), width = x.size(2);
    auto split = [&](const at::Tensor& t) {
      return t.view({batch, length, heads, width / heads}).transpose(1, 2);
    };
    at::Tensor attended = omni::compat::scaled_dot_product_attention(
        split(q_proj->forward(x)), split(k_proj->forward(x)), split(v_proj->forward(x)), {},
        /*is_causal=*/true);
    return out_proj->forward(attended.transpose(1, 2).reshape({batch, length, width}));
  }
  std::int64_t heads;
  omni::LoraLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
};
TORCH_MODULE(ClipAttention);

struct ClipMlpImpl : torch::nn::Module {
  ClipMlpImpl(std::int64_t hidden, std::int64_t intermediate, Activation activation)
      : activation(activation) {
    fc1 = register_module("fc1", omni::LoraLinear(hidden, intermediate));
    fc2 = register_module("fc2", omni::LoraLinear(intermediate, hidden));
  }
  at::Tensor forward(const at::Tensor& x) {
    return fc2->forward(apply_activation(activation, fc1->forward(x)));
  }
  Activation activation;
  omni::LoraLinear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(ClipMlp);

struct ClipEncoderLayerImpl : torch::nn::Module {
  ClipEncoderLayerImpl(const ClipTextConfig& config, Activation activation) {
    auto norm = torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps);
    self_attn = register_module("self_attn",
                                ClipAttention(config.hidden_size, config.num_attention_heads));
    layer_norm1 = register_module("layer_norm1", torch::nn::LayerNorm(norm));
    mlp = register_module("mlp", ClipMlp(config.hidden_size, config.intermediate_size, activation));
    layer_norm2 = register_module("layer_norm2", torch::nn::LayerNorm(norm));
  }
  at::Tensor forward(at::Tensor x) {
    x = x + self_attn->forward(layer_norm1->forward(x));
    return x + mlp->forward(layer_norm2->forward(x));
  }
  ClipAttention self_attn{nullptr};
  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  ClipMlp mlp{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

}  // namespace

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& config) : config_(config) {
  // One submodule "text_model" so parameter names mirror the checkpoint's.
  auto text_model = register_module("text_model", std::make_shared<torch::nn::Module>());
  auto embeddings = text_model->register_module("embeddings", std::make_shared<torch::nn::Module>());
  token_embedding = embeddings->register_module(
      "token_embedding", torch::nn::Embedding(config.vocab_size, config.hidden_size));
  position_embedding = embeddings->register_module(
      "position_embedding", torch::nn::Embedding(config.max_position_embeddings, config.hidden_size));
  auto encoder = text_model->register_module("encoder", std::make_shared<torch::nn::Module>());
  layers = encoder->register_module("layers", torch::nn::ModuleList());
  const Activation activation = parse_activation(config.hidden_act, "CLIP config");
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers->push_back(ClipEncoderLayer(config, activation));
  }
  final_layer_norm = text_model->register_module(
      "final_layer_norm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps)));
}

at::Tensor ClipTextModelImpl::pooled_positions(const at::Tensor& input_ids) const {
  at::Tensor row_max = std::get<0>(input_ids.max(1));
  if (row_max.eq(clip_end_of_text).all().item<bool>()) {
    return input_ids.argmax(1);  // torch's argmax returns the first maximum
  }
  at::Tensor is_eos = input_ids.eq(config_.eos_token_id).to(at::kInt);
  return is_eos.argmax(1);  // first occurrence; 0 when absent
}

ClipTextOutput ClipTextModelImpl::forward(const at::Tensor& input_ids) {
  if (input_ids.dim() != 2) {
    throw omni::Error(fmt::format("CLIP text model: input_ids must be [batch, length], got {}",
                                  c10::str(input_ids.sizes())));
  }
  const std::int64_t length = input_ids.size(1);
  if (length > config_.max_position_embeddings) {
    throw omni::Error(fmt::format("CLIP text model: {} tokens exceed max_position_embeddings {}",
                                  length, config_.max_position_embeddings));
  }
  at::Tensor ids = input_ids.to(token_embedding->weight.device(), at::kLong);
  at::Tensor positions = at::arange(length, ids.options());
  at::Tensor x = token_embedding->forward(ids) + position_embedding->forward(positions).unsqueeze(0);
  for (const auto& layer : *layers) x = layer->as<ClipEncoderLayerImpl>()->forward(x);
  x = final_layer_norm->forward(x);

  ClipTextOutput output;
  output.last_hidden_state = x;
  output.pooled_position = pooled_positions(ids);
  output.pooler_output =
      x.index({at::arange(x.size(0), ids.options()), output.pooled_position});
  return output;
}

ClipTextModel load_clip_text_model(const std::filesystem::path& folder, c10::ScalarType dtype,
                                   c10::Device device) {
  ClipTextModel model(ClipTextConfig::from_file(folder / "config.json"));
  omni::WeightLoadOptions options;
  options.dtype = dtype;
  options.device = device;
  // Older checkpoints carry the position_ids buffer, which current upstream computes.
  options.allow_unexpected = {"text_model\\.embeddings\\.position_ids"};
  model->to(device, dtype);
  omni::load_weights(*model, *omni::TensorSource::open(folder), options);
  model->eval();
  return model;
}

}  // namespace flux_kontext
