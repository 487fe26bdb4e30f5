#include "flux_kontext/registration.hpp"

#include <fmt/format.h>

#include "omni/config.hpp"
#include "omni/error.hpp"

namespace flux_kontext {
namespace {

// The enhancer's own options live in the top-level `prompt_enhancer` section and follow its
// plugin's schema. A config that asks for an enhancer no plugin provides fails here, before
// any model is loaded.
void validate_prompt_enhancer(const omni::ConfigView& root, const TrainerConfig& config,
                              const omni::ComponentProvider& components) {
  omni::ConfigView options = root.child_or_empty("prompt_enhancer");
  if (!config.model.use_vlm_prompt_enhancer) return;
  try {
    components.validate_component(omni::ComponentKind::prompt_enhancer,
                                  config.model.prompt_enhancer, options);
  } catch (const omni::ConfigError&) {
    throw;
  } catch (const omni::Error& error) {
    root.child("model").fail(
        "use_vlm_prompt_enhancer",
        fmt::format("needs the prompt enhancer '{}' (from the qwen_vl_enhancer plugin unless "
                    "model.prompt_enhancer names another): {}",
                    config.model.prompt_enhancer, error.what()));
  }
}

}  // namespace

omni::TrainerFactory make_trainer_factory(
    std::string name, std::string summary,
    std::function<std::unique_ptr<FluxKontextTrainer>(TrainerConfig)> make) {
  omni::TrainerFactory factory;
  factory.name = std::move(name);
  factory.summary = std::move(summary);
  factory.validate = [](const omni::ConfigView& root, const omni::ComponentProvider& components) {
    TrainerConfig config = parse_trainer_config(root);
    validate_prompt_enhancer(root, config, components);
  };
  factory.create = [make](const omni::ConfigView& root, const omni::ComponentProvider&) {
    std::unique_ptr<FluxKontextTrainer> trainer = make(parse_trainer_config(root));
    trainer->set_prompt_enhancer_options(root.child_or_empty("prompt_enhancer"));
    return std::unique_ptr<omni::Trainer>(std::move(trainer));
  };
  return factory;
}

}  // namespace flux_kontext
