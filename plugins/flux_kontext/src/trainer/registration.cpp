#include "flux_kontext/trainer/registration.hpp"

#include <map>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "flux_kontext/trainer/kontext_components.hpp"
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

// The text encoders are registry components too: an unknown name fails here, listing the
// registered encoders, and a known one checks the options it will be given.
void validate_text_encoders(const omni::ConfigView& root, const TrainerConfig& config,
                            const omni::ComponentProvider& components) {
  const std::pair<const char*, const std::string*> places[] = {
      {"text_encoder", &config.model.text_encoder}, {"text_encoder_2", &config.model.text_encoder_2}};
  for (const auto& [place, name] : places) {
    const std::optional<std::string>& weights = std::string(place) == "text_encoder"
                                                    ? config.model.text_encoder_path
                                                    : config.model.text_encoder_2_path;
    const omni::ConfigDocument options = text_encoder_options(
        config.model.pretrained_model_name_or_path, config.model.revision.value_or(""), place,
        "cpu", weights.value_or(""));
    try {
      components.validate_component(omni::ComponentKind::text_encoder, *name, options.root());
    } catch (const omni::ConfigError&) {
      throw;
    } catch (const omni::Error& error) {
      const omni::ConfigView model = root.child("model");
      if (auto encoders = model.optional_child("text_encoders")) encoders->fail(place, error.what());
      model.fail("pretrained_model_name_or_path", error.what());
    }
  }
}

}  // namespace

omni::TrainerFactory make_trainer_factory(std::string name, std::string summary,
                                          KontextTrainerMaker make, TrainerConfig defaults) {
  omni::TrainerFactory factory;
  factory.name = std::move(name);
  factory.summary = std::move(summary);
  factory.validate = [defaults](const omni::ConfigView& root,
                               const omni::ComponentProvider& components) {
    TrainerConfig config = parse_trainer_config(root, defaults);
    validate_text_encoders(root, config, components);
    validate_prompt_enhancer(root, config, components);
  };
  factory.create = [make, defaults, name = factory.name](const omni::ConfigView& root,
                                                        const omni::ComponentProvider&) {
    std::unique_ptr<FluxKontextTrainer> trainer = make(parse_trainer_config(root, defaults));
    trainer->set_registered_name(name);
    trainer->set_prompt_enhancer_options(root.child_or_empty("prompt_enhancer"));
    return std::unique_ptr<omni::Trainer>(std::move(trainer));
  };
  return factory;
}

}  // namespace flux_kontext
