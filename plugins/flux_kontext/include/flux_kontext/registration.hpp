#pragma once
// Helpers for plugins that register a FluxKontext-family trainer.
#include <functional>
#include <memory>
#include <string>

#include "flux_kontext/export.hpp"
#include "flux_kontext/flux_kontext_trainer.hpp"
#include "omni/component.hpp"

namespace flux_kontext {

// A trainer factory whose validation is the shared schema (plus, when the config asks for
// a prompt enhancer, that enhancer's presence in the registry) and whose `create` calls
// `make` with the parsed config.
FLUX_KONTEXT_API omni::TrainerFactory make_trainer_factory(
    std::string name, std::string summary,
    std::function<std::unique_ptr<FluxKontextTrainer>(TrainerConfig)> make);

}  // namespace flux_kontext
