#include "flux_kontext/sampling/flux_sampler.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "flux_kontext/model/flux_packing.hpp"
#include "omni/error.hpp"

namespace flux_kontext {
namespace {

std::string shape_of(const at::Tensor& tensor) {
  return tensor.defined() ? fmt::format("[{}]", fmt::join(tensor.sizes(), ", ")) : "undefined";
}

void check_inputs(const FluxSamplingInputs& inputs, const FluxSamplingOptions& options) {
  auto fail = [](const std::string& message) {
    throw omni::Error("Flux sampling: " + message);
  };
  if (options.steps <= 0) fail(fmt::format("steps must be > 0, got {}", options.steps));
  if (!options.sigmas.empty() && static_cast<std::int64_t>(options.sigmas.size()) != options.steps) {
    fail(fmt::format("{} sigmas given for {} steps", options.sigmas.size(), options.steps));
  }
  const at::Tensor& noise = inputs.initial_noise;
  if (!noise.defined() || noise.dim() != 3) {
    fail("initial_noise must be [batch, tokens, channels], got " + shape_of(noise));
  }
  std::int64_t tokens = noise.size(1);
  if (inputs.control_tokens.defined()) {
    const at::Tensor& control = inputs.control_tokens;
    if (control.dim() != 3 || control.size(0) != noise.size(0) || control.size(2) != noise.size(2)) {
      fail(fmt::format("control_tokens {} do not match initial_noise {} in batch and channels",
                       shape_of(control), shape_of(noise)));
    }
    tokens += control.size(1);
  }
  if (!inputs.img_ids.defined() || inputs.img_ids.dim() != 2 || inputs.img_ids.size(0) != tokens ||
      inputs.img_ids.size(1) != 3) {
    fail(fmt::format("img_ids must be [{}, 3] (target then control tokens), got {}", tokens,
                     shape_of(inputs.img_ids)));
  }
  auto check_prompt = [&](const FluxPromptEmbeds& prompt, const char* what) {
    if (!prompt.encoder_hidden_states.defined() || prompt.encoder_hidden_states.dim() != 3 ||
        prompt.encoder_hidden_states.size(0) != noise.size(0)) {
      fail(fmt::format("{} encoder_hidden_states must be [{}, tokens, dim], got {}", what,
                       noise.size(0), shape_of(prompt.encoder_hidden_states)));
    }
    if (!prompt.pooled_projections.defined() || prompt.pooled_projections.dim() != 2 ||
        prompt.pooled_projections.size(0) != noise.size(0)) {
      fail(fmt::format("{} pooled_projections must be [{}, dim], got {}", what, noise.size(0),
                       shape_of(prompt.pooled_projections)));
    }
  };
  check_prompt(inputs.prompt, "prompt");
  if (inputs.negative_prompt) check_prompt(*inputs.negative_prompt, "negative prompt");
  if (options.true_cfg_scale > 1.0 && !inputs.negative_prompt) {
    fail(fmt::format("true_cfg_scale {} needs a negative prompt", options.true_cfg_scale));
  }
}

at::Tensor text_ids_of(const FluxPromptEmbeds& prompt) {
  if (prompt.txt_ids.defined()) return prompt.txt_ids;
  return text_position_ids(prompt.encoder_hidden_states.size(1))
      .to(prompt.encoder_hidden_states.device());
}

}  // namespace

at::Tensor sample_flux(const FluxVelocityModel& model, FlowMatchEulerDiscreteScheduler& scheduler,
                       const FluxSamplingInputs& inputs, const FluxSamplingOptions& options) {
  check_inputs(inputs, options);
  const std::int64_t batch = inputs.initial_noise.size(0);
  const std::int64_t target_tokens = inputs.initial_noise.size(1);

  std::vector<double> sigmas = options.sigmas;
  if (sigmas.empty()) {  // numpy's linspace(1, 1/steps, steps), last value exact
    const auto steps = static_cast<double>(options.steps);
    for (std::int64_t i = 0; i < options.steps; ++i) {
      sigmas.push_back(options.steps == 1
                           ? 1.0
                           : 1.0 + static_cast<double>(i) * ((1.0 / steps - 1.0) / (steps - 1.0)));
    }
    sigmas.back() = 1.0 / steps;
  }
  scheduler.set_timesteps(sigmas, scheduler.mu_for(target_tokens),
                          inputs.initial_noise.device());

  at::Tensor latents = inputs.initial_noise.to(at::kFloat);
  const at::TensorOptions float_options = latents.options();
  const bool true_cfg = options.true_cfg_scale > 1.0 && inputs.negative_prompt.has_value();
  FluxTransformerInputs call;
  call.img_ids = inputs.img_ids;
  if (options.guidance_embeds) {
    call.guidance = at::full({batch}, options.guidance_scale, float_options);
  }
  auto velocity = [&](const FluxPromptEmbeds& prompt) {
    call.encoder_hidden_states = prompt.encoder_hidden_states;
    call.pooled_projections = prompt.pooled_projections;
    call.txt_ids = text_ids_of(prompt);
    return model(call).narrow(1, 0, target_tokens);
  };

  const at::Tensor& timesteps = scheduler.timesteps();
  for (std::int64_t i = 0; i < scheduler.num_steps(); ++i) {
    call.hidden_states = inputs.control_tokens.defined()
                             ? at::cat({latents, inputs.control_tokens.to(latents.options())}, 1)
                             : latents;
    call.timestep = timesteps[i].expand({batch}).to(latents.options()) / 1000.0;
    at::Tensor v = velocity(inputs.prompt);
    if (true_cfg) {
      const at::Tensor v_negative = velocity(*inputs.negative_prompt);
      v = v_negative + options.true_cfg_scale * (v - v_negative);
    }
    latents = scheduler.step(v, i, latents).to(at::kFloat);
    if (options.on_step) options.on_step(i + 1, scheduler.num_steps());
  }
  return latents;
}

at::Tensor sample_flux(FluxTransformer2DModelImpl& transformer,
                       FlowMatchEulerDiscreteScheduler& scheduler, const FluxSamplingInputs& inputs,
                       FluxSamplingOptions options) {
  options.guidance_embeds = transformer.config().guidance_embeds;
  return sample_flux(
      [&transformer](const FluxTransformerInputs& call) { return transformer.forward(call); },
      scheduler, inputs, options);
}

at::Tensor decode_packed_latents(AutoencoderKLImpl& vae, const at::Tensor& packed,
                                 std::int64_t height, std::int64_t width) {
  const std::int64_t scale = vae.config().spatial_scale();
  if (height <= 0 || width <= 0 || height % (2 * scale) != 0 || width % (2 * scale) != 0) {
    throw omni::Error(fmt::format("decode_packed_latents: the image size {}x{} must be a positive "
                                  "multiple of {} in both directions",
                                  height, width, 2 * scale));
  }
  const at::Tensor latents = unpack_latents(packed, height / scale, width / scale);
  return vae.decode(vae.denormalize(latents));
}

at::Tensor encode_packed_latents(AutoencoderKLImpl& vae, const at::Tensor& image) {
  return pack_latents(vae.normalize(vae.encode(image).mean));
}

}  // namespace flux_kontext
