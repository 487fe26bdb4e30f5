// The dreamomni2 plugin module: registers the DreamOmni2 trainer, built on the flux_kontext
// shared library.
#include "dreamomni2_trainer.hpp"
#include "flux_kontext/trainer/registration.hpp"
#include "omni/plugin_api.hpp"

namespace {

void register_dreamomni2(omni::Registrar& registrar) {
  flux_kontext::TrainerConfig defaults;
  // DreamOmni2's VLM was tuned on instructions ending so (DreamOmni2's inference code).
  defaults.model.prompt_enhancer_suffix = " It is editing task.";
  registrar.add_trainer(flux_kontext::make_trainer_factory(
      "DreamOmni2", "multi-reference editing LoRA on FLUX.1 Kontext (offset position ids)",
      [](flux_kontext::TrainerConfig config) -> std::unique_ptr<flux_kontext::FluxKontextTrainer> {
        return std::make_unique<dreamomni2::DreamOmni2Trainer>(std::move(config));
      },
      std::move(defaults)));
}

}  // namespace

OMNI_PLUGIN("dreamomni2", "0.1.0", register_dreamomni2)
