#include "flux_kontext/trainer/flux_kontext_trainer.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <yaml-cpp/yaml.h>

#include "flux_kontext/quickstart/embedded_inputs.hpp"
#include "flux_kontext/trainer/kontext_components.hpp"
#include "trainer/kontext_cache_plan.hpp"
#include "omni/crc32c.hpp"
#include "omni/distributed.hpp"
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

std::string FluxKontextTrainer::position_id_scheme() const {
  // Grids chosen so that offsets by index, by row or by column all show: unequal sizes, and
  // more than one control.
  const std::vector<std::vector<PackedGrid>> probes = {
      {{2, 3}}, {{2, 3}, {3, 2}}, {{1, 1}, {2, 4}, {3, 2}}};
  std::uint32_t crc = 0;
  for (const std::vector<PackedGrid>& controls : probes) {
    const at::Tensor ids = control_image_ids(controls).to(at::kFloat).contiguous();
    crc = omni::crc32c_extend(crc, ids.sizes().data(), ids.sizes().size() * sizeof(std::int64_t));
    crc = omni::crc32c_extend(crc, ids.data_ptr<float>(), static_cast<std::size_t>(ids.numel()) * sizeof(float));
  }
  return fmt::format("ids-{:08x}", crc);
}

at::Tensor FluxKontextTrainer::image_ids(const PackedGrid& target,
                                         const std::vector<PackedGrid>& controls) const {
  return at::cat({grid_position_ids(target, 0.0), control_image_ids(controls)}, 0);
}

std::unique_ptr<omni::PromptEnhancer> FluxKontextTrainer::make_prompt_enhancer(
    const omni::StageContext& context, const std::optional<std::string>& stage_device) const {
  if (!config_.model.use_vlm_prompt_enhancer) return nullptr;
  if (!context.components) {
    throw omni::Error(fmt::format("{}: a prompt enhancer is configured but no component "
                                  "registry was given", name()));
  }
  omni::ConfigView options = enhancer_options_ ? *enhancer_options_
                                               : omni::ConfigDocument::from_string("{}").root();
  if (stage_device) {
    // The stage's device map (cache.devices.prompt_enhancer, ...) wins over the enhancer's
    // own `device` option: the options are copied with `device` replaced.
    YAML::Node copy = options.node().IsMap() ? YAML::Clone(options.node())
                                             : YAML::Node(YAML::NodeType::Map);
    copy["device"] = *stage_device;
    YAML::Emitter yaml;
    yaml << copy;
    options = omni::ConfigDocument::from_string(yaml.c_str(), "prompt_enhancer (device from the "
                                                             "stage's device map)")
                  .root();
  }
  return context.components->make_prompt_enhancer(config_.model.prompt_enhancer, options);
}

CachePlan FluxKontextTrainer::prepare_cache(const omni::StageContext& context,
                                            const TrainerConfig& config) const {
  // In a data-parallel job rank 0 makes the missing inputs and fills the cache while the
  // others wait; they then find everything ready and only read it.
  std::optional<CachePlan> plan;
  omni::ProcessGroup& group = omni::process_group_of(context);
  group.main_rank_first("preparing the data set and the cache", [&] {
    // Only rank 0 tidies: by the time the others get here it may be writing its run's files.
    if (group.is_main()) remove_interrupted_writes_of(config);
    plan = prepare_cache_here(context, config);
  });
  return std::move(*plan);
}

CachePlan FluxKontextTrainer::prepare_cache_here(const omni::StageContext& context,
                                                 const TrainerConfig& config) const {
  make_missing_inputs(config);
  KontextModelPaths paths = resolve_model_paths(config.model);
  // The enhancer lives only as long as this call: it is unloaded before any training.
  std::unique_ptr<omni::PromptEnhancer> enhancer = make_prompt_enhancer(context, config.cache.devices.prompt_enhancer);
  CachePlan plan = plan_cache(config, config.data, paths,
                              {enhancer ? enhancer->identity() : "", position_id_scheme()});
  fill_cache(config, plan, paths, CacheDevices::from(config.cache.devices), enhancer.get(),
             context.stop_requested, context.components);
  return plan;
}

void FluxKontextTrainer::cache(const omni::StageContext& context) {
  components_ = context.components;
  if (!config_.cache.use_cache) {
    fmt::print("cache: cache.use_cache is false; fit encodes the data set itself\n");
    return;
  }
  prepare_cache(context, config_);
}

}  // namespace flux_kontext
