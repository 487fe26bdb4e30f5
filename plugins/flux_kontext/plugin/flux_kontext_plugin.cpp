// The flux_kontext plugin module: registers what the Flux base library provides (the
// FluxKontext trainer, the CLIP and T5 text encoders and tokenizers, the debug commands).
#include "flux_kontext/trainer/registration.hpp"
#include "omni/plugin_api.hpp"

OMNI_PLUGIN("flux_kontext", "0.1.0", flux_kontext::register_flux_kontext)
