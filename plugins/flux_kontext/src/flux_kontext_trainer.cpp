#include "flux_kontext/flux_kontext_trainer.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "flux_kontext/kontext_components.hpp"
#include "kontext_cache_plan.hpp"
#include "omni/error.hpp"

namespace flux_kontext {

FluxKontextTrainer::FluxKontextTrainer(TrainerConfig config) : config_(std::move(config)) {}
FluxKontextTrainer::~FluxKontextTrainer() = default;

at::Tensor FluxKontextTrainer::control_image_ids(const std::vector<PackedGrid>& controls) const {
  std::vector<at::Tensor> parts;
  for (const PackedGrid& grid : controls) parts.push_back(grid_position_ids(grid, 1.0));
  if (parts.empty()) return at::zeros({0, 3}, at::kFloat);
  return at::cat(parts, 0);
}

at::Tensor FluxKontextTrainer::image_ids(const PackedGrid& target,
                                         const std::vector<PackedGrid>& controls) const {
  return at::cat({grid_position_ids(target, 0.0), control_image_ids(controls)}, 0);
}

std::unique_ptr<omni::PromptEnhancer> FluxKontextTrainer::make_prompt_enhancer(
    const omni::StageContext& context) const {
  if (!config_.model.use_vlm_prompt_enhancer) return nullptr;
  if (!context.components) {
    throw omni::Error(fmt::format("{}: a prompt enhancer is configured but no component "
                                  "registry was given", name()));
  }
  omni::ConfigView options = enhancer_options_ ? *enhancer_options_
                                               : omni::ConfigDocument::from_string("{}").root();
  return context.components->make_prompt_enhancer(config_.model.prompt_enhancer, options);
}

CachePlan FluxKontextTrainer::prepare_cache(const omni::StageContext& context) {
  KontextModelPaths paths = resolve_model_paths(config_.model);
  std::unique_ptr<omni::PromptEnhancer> enhancer = make_prompt_enhancer(context);
  CachePlan plan = plan_cache(config_, config_.data, paths,
                              {enhancer ? enhancer->identity() : "", position_id_scheme()});
  const DeviceMap& devices = config_.cache.devices;
  CacheDevices cache_devices;
  cache_devices.vae = component_device(devices.vae, devices.vae_encoder);
  cache_devices.clip = component_device(devices.text_encoder);
  cache_devices.t5 = component_device(devices.text_encoder_2);
  fill_cache(config_, plan, paths, cache_devices, enhancer.get(), context.stop_requested);
  return plan;
}

void FluxKontextTrainer::cache(const omni::StageContext& context) { prepare_cache(context); }

}  // namespace flux_kontext
