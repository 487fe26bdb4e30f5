#include "flux_kontext/registration.hpp"

#include <map>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

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

std::map<std::string, KontextTrainerMaker>& trainer_catalog() {
  static std::map<std::string, KontextTrainerMaker> catalog;
  return catalog;
}

}  // namespace

std::unique_ptr<FluxKontextTrainer> make_kontext_trainer(const std::string& name,
                                                         TrainerConfig config) {
  const auto& catalog = trainer_catalog();
  auto found = catalog.find(name);
  if (found == catalog.end()) {
    std::vector<std::string> known;
    for (const auto& item : catalog) known.push_back(item.first);
    throw omni::Error(fmt::format("no FluxKontext-family trainer named '{}' is loaded (known: {})",
                                  name, fmt::join(known, ", ")));
  }
  return found->second(std::move(config));
}

omni::TrainerFactory make_trainer_factory(std::string name, std::string summary,
                                          KontextTrainerMaker make) {
  trainer_catalog()[name] = make;
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
