// The flux_kontext plugin module: registers the FluxKontext trainer from the shared library.
#include "flux_kontext/registration.hpp"
#include "omni/plugin_api.hpp"

namespace {

void register_flux_kontext(omni::Registrar& registrar) {
  registrar.add_trainer(flux_kontext::make_trainer_factory(
      "FluxKontext", "LoRA fine-tuning of FLUX.1 Kontext on image-editing pairs",
      [](flux_kontext::TrainerConfig config) {
        return std::make_unique<flux_kontext::FluxKontextTrainer>(std::move(config));
      }));
}

}  // namespace

OMNI_PLUGIN("flux_kontext", "0.1.0", register_flux_kontext)
