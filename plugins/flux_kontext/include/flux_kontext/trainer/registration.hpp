#pragma once
// Helpers for plugins that register a FluxKontext-family trainer.
#include <memory>
#include <string>

#include "flux_kontext/export.hpp"
#include "flux_kontext/trainer/flux_kontext_trainer.hpp"
#include "omni/component.hpp"

namespace flux_kontext {

// Builds one trainer of the family (a lambda without captures).
using KontextTrainerMaker = std::unique_ptr<FluxKontextTrainer> (*)(TrainerConfig);

// A trainer factory whose validation is the shared schema (plus, when the config asks for
// a prompt enhancer, that enhancer's presence in the registry) and whose `create` calls
// `make` with the config parsed over `defaults`.
FLUX_KONTEXT_API omni::TrainerFactory make_trainer_factory(std::string name, std::string summary,
                                                           KontextTrainerMaker make,
                                                           TrainerConfig defaults = {});

// Registers the Flux base's own components: the FluxKontext trainer, the CLIP and T5 text
// encoders and tokenizers, and the debug and lora commands (the flux_kontext plugin module).
FLUX_KONTEXT_API void register_flux_kontext(omni::Registrar& registrar);

}  // namespace flux_kontext
