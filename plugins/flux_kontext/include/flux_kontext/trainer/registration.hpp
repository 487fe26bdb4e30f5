#pragma once
// Helpers for plugins that register a FluxKontext-family trainer.
#include <memory>
#include <string>

#include "flux_kontext/export.hpp"
#include "flux_kontext/trainer/flux_kontext_trainer.hpp"
#include "omni/component.hpp"

namespace flux_kontext {

// Builds one trainer of the family. A plain function (a lambda without captures): the
// catalog below outlives no plugin's code when it is destroyed.
using KontextTrainerMaker = std::unique_ptr<FluxKontextTrainer> (*)(TrainerConfig);

// A trainer factory whose validation is the shared schema (plus, when the config asks for
// a prompt enhancer, that enhancer's presence in the registry) and whose `create` calls
// `make` with the config parsed over `defaults`. Also records `make` in the family's catalog.
FLUX_KONTEXT_API omni::TrainerFactory make_trainer_factory(std::string name, std::string summary,
                                                           KontextTrainerMaker make,
                                                           TrainerConfig defaults = {});

// The family's trainers registered so far (by make_trainer_factory), so that this library's
// tools (`debug position-ids`) build them by name. An unknown name is an omni::Error listing
// the known ones.
FLUX_KONTEXT_API std::unique_ptr<FluxKontextTrainer> make_kontext_trainer(const std::string& name,
                                                                          TrainerConfig config);

}  // namespace flux_kontext
