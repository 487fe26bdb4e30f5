#include "flux_kontext/model/flux_transformer.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/autograd.h>

#include "flux_kontext/model/bfl_checkpoint.hpp"
#include "flux_kontext/model/flux_rope.hpp"
#include "omni/training/gradient_checkpoint.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"
#include "omni/weight_loading.hpp"

namespace flux_kontext {
namespace {

std::vector<at::Tensor> trainable_parameters(const torch::nn::Module& module) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& parameter : module.parameters()) {
    if (parameter.requires_grad()) out.push_back(parameter);
  }
  return out;
}

// A timestep or guidance value per batch entry, scaled to upstream's 0..1000 range in fp32.
at::Tensor per_sample(const at::Tensor& value, std::int64_t batch, c10::Device device) {
  return value.reshape({-1}).to(device, at::kFloat).expand({batch}) * 1000.0;
}

std::string shape_text(const at::Tensor& t) {
  return t.defined() ? fmt::format("{}", t.sizes()) : std::string("nothing");
}

// Makes the tensors modules create during construction use `dtype`, so that a 12 B model is
// never built in fp32 first. The default dtype is process-wide: build models from one thread.
class DefaultDtypeGuard {
 public:
  explicit DefaultDtypeGuard(c10::ScalarType dtype) : previous_(c10::get_default_dtype()) {
    c10::set_default_dtype(c10::scalarTypeToTypeMeta(dtype));
  }
  ~DefaultDtypeGuard() { c10::set_default_dtype(previous_); }
  DefaultDtypeGuard(const DefaultDtypeGuard&) = delete;
  DefaultDtypeGuard& operator=(const DefaultDtypeGuard&) = delete;

 private:
  caffe2::TypeMeta previous_;
};

}  // namespace

FluxTransformer2DModelImpl::FluxTransformer2DModelImpl(const FluxTransformerConfig& config)
    : config_(config) {
  config_.validate("FluxTransformer2DModel");
  const std::int64_t dim = config_.inner_dim();
  time_text_embed = register_module(
      "time_text_embed",
      TimeTextEmbedding(dim, config_.pooled_projection_dim, config_.guidance_embeds));
  context_embedder =
      register_module("context_embedder", omni::LoraLinear(config_.joint_attention_dim, dim));
  x_embedder = register_module("x_embedder", omni::LoraLinear(config_.in_channels, dim));
  transformer_blocks = register_module("transformer_blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config_.num_layers; ++i) {
    double_blocks_.emplace_back(dim, config_.num_attention_heads, config_.attention_head_dim);
    transformer_blocks->push_back(double_blocks_.back());
  }
  single_transformer_blocks = register_module("single_transformer_blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config_.num_single_layers; ++i) {
    single_blocks_.emplace_back(dim, config_.num_attention_heads, config_.attention_head_dim);
    single_transformer_blocks->push_back(single_blocks_.back());
  }
  norm_out = register_module("norm_out", AdaLayerNormContinuous(dim, dim));
  proj_out = register_module("proj_out", omni::LoraLinear(dim, config_.output_channels()));
}

void FluxTransformer2DModelImpl::check_inputs(const FluxTransformerInputs& in) const {
  const auto fail = [](const std::string& message) {
    throw omni::Error("FluxTransformer2DModel: " + message);
  };
  if (!in.hidden_states.defined() || in.hidden_states.dim() != 3 ||
      in.hidden_states.size(2) != config_.in_channels) {
    fail(fmt::format("hidden_states must be [batch, image tokens, {}], got {}", config_.in_channels,
                     shape_text(in.hidden_states)));
  }
  const std::int64_t batch = in.hidden_states.size(0);
  const std::int64_t image_tokens = in.hidden_states.size(1);
  if (!in.encoder_hidden_states.defined() || in.encoder_hidden_states.dim() != 3 ||
      in.encoder_hidden_states.size(0) != batch ||
      in.encoder_hidden_states.size(2) != config_.joint_attention_dim) {
    fail(fmt::format("encoder_hidden_states must be [{}, text tokens, {}], got {}", batch,
                     config_.joint_attention_dim, shape_text(in.encoder_hidden_states)));
  }
  const std::int64_t text_tokens = in.encoder_hidden_states.size(1);
  if (!in.pooled_projections.defined() || in.pooled_projections.dim() != 2 ||
      in.pooled_projections.size(0) != batch ||
      in.pooled_projections.size(1) != config_.pooled_projection_dim) {
    fail(fmt::format("pooled_projections must be [{}, {}], got {}", batch,
                     config_.pooled_projection_dim, shape_text(in.pooled_projections)));
  }
  const auto check_scalar_per_sample = [&](const at::Tensor& value, const char* name) {
    if (!value.defined() || value.dim() > 1 || (value.numel() != 1 && value.numel() != batch)) {
      fail(fmt::format("{} must be a scalar or [{}], got {}", name, batch, shape_text(value)));
    }
  };
  check_scalar_per_sample(in.timestep, "timestep");
  if (config_.guidance_embeds) {
    check_scalar_per_sample(in.guidance, "guidance");
  } else if (in.guidance.defined()) {
    fail("guidance was given, but this model has no guidance embedding (guidance_embeds false)");
  }
  const auto axes = static_cast<std::int64_t>(config_.axes_dims_rope.size());
  const auto check_ids = [&](const at::Tensor& ids, std::int64_t tokens, const char* name,
                             const char* of) {
    if (!ids.defined() || ids.dim() != 2 || ids.size(0) != tokens || ids.size(1) != axes) {
      fail(fmt::format("{} must be [{}, {}] (one id triple per {} token), got {}", name, tokens,
                       axes, of, shape_text(ids)));
    }
  };
  check_ids(in.img_ids, image_tokens, "img_ids", "image");
  check_ids(in.txt_ids, text_tokens, "txt_ids", "text");
}

at::Tensor FluxTransformer2DModelImpl::forward(const FluxTransformerInputs& in) {
  check_inputs(in);
  const c10::ScalarType type = dtype();
  const c10::Device where = device();
  const std::int64_t batch = in.hidden_states.size(0);
  const std::int64_t text_tokens = in.encoder_hidden_states.size(1);
  const std::int64_t image_tokens = in.hidden_states.size(1);

  at::Tensor image = x_embedder(in.hidden_states.to(where, type));
  const at::Tensor guidance =
      config_.guidance_embeds ? per_sample(in.guidance, batch, where) : at::Tensor();
  const at::Tensor temb = time_text_embed(per_sample(in.timestep, batch, where), guidance,
                                          in.pooled_projections.to(where, type));
  at::Tensor text = context_embedder(in.encoder_hidden_states.to(where, type));
  const RotaryEmbedding rope =
      rotary_embedding(at::cat({in.txt_ids, in.img_ids}, 0).to(where), config_.axes_dims_rope);

  const bool checkpoint = gradient_checkpointing_ && at::GradMode::is_enabled();
  for (FluxDoubleBlock& block : double_blocks_) {
    if (!checkpoint) {
      StreamPair out = block->forward(image, text, temb, rope);
      image = std::move(out.image);
      text = std::move(out.text);
      continue;
    }
    const auto run = [block](const std::vector<at::Tensor>& x) mutable {
      StreamPair out = block->forward(x[0], x[1], x[2], {x[3], x[4]});
      return std::vector<at::Tensor>{out.image, out.text};
    };
    std::vector<at::Tensor> out = omni::checkpointed(run, {image, text, temb, rope.cos, rope.sin},
                                               trainable_parameters(*block));
    image = out[0];
    text = out[1];
  }
  at::Tensor tokens = at::cat({text, image}, 1);
  for (FluxSingleBlock& block : single_blocks_) {
    if (!checkpoint) {
      tokens = block->forward(tokens, temb, rope);
      continue;
    }
    const auto run = [block](const std::vector<at::Tensor>& x) mutable {
      return std::vector<at::Tensor>{block->forward(x[0], x[1], {x[2], x[3]})};
    };
    tokens = omni::checkpointed(run, {tokens, temb, rope.cos, rope.sin}, trainable_parameters(*block))[0];
  }
  image = tokens.narrow(1, text_tokens, image_tokens);
  return proj_out(norm_out(image, temb));
}

FluxFlops FluxTransformer2DModelImpl::flops(std::int64_t batch, std::int64_t image_tokens,
                                            std::int64_t text_tokens) const {
  const double b = static_cast<double>(batch), n = static_cast<double>(image_tokens),
               t = static_cast<double>(text_tokens), s = n + t;
  const double d = static_cast<double>(config_.inner_dim());
  const double m = static_cast<double>(config_.mlp_hidden_dim());
  const auto linear = [](double rows, double in, double out) { return 2.0 * rows * in * out; };
  double dense = linear(b * n, static_cast<double>(config_.in_channels), d) +
                 linear(b * t, static_cast<double>(config_.joint_attention_dim), d) +
                 linear(b, 256, d) + linear(b, d, d) +
                 linear(b, static_cast<double>(config_.pooled_projection_dim), d) + linear(b, d, d);
  if (config_.guidance_embeds) dense += linear(b, 256, d) + linear(b, d, d);
  double attention = 0;
  for (std::int64_t i = 0; i < config_.num_layers; ++i) {
    dense += 2 * linear(b, d, 6 * d);                               // norm1, norm1_context
    dense += 4 * linear(b * s, d, d);                               // q, k, v, out (both streams)
    dense += linear(b * s, d, m) + linear(b * s, m, d);             // ff, ff_context
    attention += 2 * 2.0 * b * s * s * d;                           // q k^T and p v
  }
  for (std::int64_t i = 0; i < config_.num_single_layers; ++i) {
    dense += linear(b, d, 3 * d) + 3 * linear(b * s, d, d) + linear(b * s, d, m) +
             linear(b * s, d + m, d);
    attention += 2 * 2.0 * b * s * s * d;
  }
  dense += linear(b, d, 2 * d) + linear(b * n, d, static_cast<double>(config_.output_channels()));
  return {dense + attention, dense + 2 * attention};
}

void load_flux_transformer_weights(FluxTransformer2DModelImpl& model,
                                   std::shared_ptr<const omni::TensorSource> source,
                                   const FluxTransformerLoadOptions& options) {
  std::shared_ptr<const omni::TensorSource> named = source;
  if (!source->contains("x_embedder.weight")) {
    const std::optional<std::string> prefix = bfl_prefix(*source);
    if (!prefix) {
      const std::vector<std::string> names = source->names();
      const std::vector<std::string> first(names.begin(),
                                           names.begin() + std::min<std::size_t>(names.size(), 5));
      throw omni::Error(fmt::format(
          "{} is not a Flux transformer checkpoint: it has neither diffusers' "
          "'x_embedder.weight' nor BFL's 'img_in.weight' (its first tensors: {})",
          source->description(), fmt::join(first, ", ")));
    }
    named = bfl_as_diffusers(source, *prefix);
  }
  omni::WeightLoadOptions load;
  load.dtype = options.dtype;
  load.device = options.device;
  omni::load_weights(model, *named, load);
}

FluxTransformer2DModel load_flux_transformer(const std::filesystem::path& folder_or_file,
                                             const FluxTransformerLoadOptions& options) {
  std::error_code error;
  const bool folder = std::filesystem::is_directory(folder_or_file, error);
  std::shared_ptr<const omni::TensorSource> source;
  FluxTransformerConfig config;
  if (folder) {
    config = FluxTransformerConfig::from_folder(folder_or_file);
    source = omni::TensorSource::open(folder_or_file);
  } else {
    source = omni::TensorSource::open(folder_or_file);
    const std::optional<std::string> prefix = bfl_prefix(*source);
    if (!prefix) {
      throw omni::Error(fmt::format("{}: a single checkpoint file must be a BFL Flux checkpoint "
                                    "(img_in.weight, double_blocks.N...); for diffusers weights "
                                    "pass the transformer folder with its config.json",
                                    source->description()));
    }
    config = config_from_bfl(*source, *prefix);
  }
  // Built on the target device first, so weights go from the file's mapping straight there.
  FluxTransformer2DModel model = make_flux_transformer(config, options);
  load_flux_transformer_weights(*model, source, options);
  return model;
}

FluxTransformer2DModel make_flux_transformer(const FluxTransformerConfig& config,
                                             const FluxTransformerLoadOptions& options) {
  FluxTransformer2DModel model{nullptr};
  {
    DefaultDtypeGuard build_in(options.dtype);
    model = FluxTransformer2DModel(config);
  }
  if (options.device != model->device()) model->to(options.device);
  return model;
}

}  // namespace flux_kontext
