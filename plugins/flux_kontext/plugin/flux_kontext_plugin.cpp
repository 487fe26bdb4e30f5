// The flux_kontext plugin module: registers the FluxKontext trainer, the CLIP and T5 text
// encoders and the debug commands from the shared library.
#include "flux_kontext/trainer/registration.hpp"
#include "omni/plugin_api.hpp"

#include "flux_kontext/commands/debug_flux_forward.hpp"
#include "flux_kontext/commands/debug_flux_sample.hpp"
#include "flux_kontext/commands/debug_position_ids.hpp"
#include "flux_kontext/commands/debug_text_encoder.hpp"
#include "flux_kontext/commands/debug_vae.hpp"
#include "flux_kontext/quickstart/embedded_inputs.hpp"
#include "flux_kontext/commands/lora_command.hpp"
#include "flux_kontext/text/registered_tokenizers.hpp"
#include "flux_kontext/text/text_encoders.hpp"

namespace {

void register_flux_kontext(omni::Registrar& registrar) {
  registrar.add_trainer(flux_kontext::make_trainer_factory(
      "FluxKontext", "LoRA fine-tuning of FLUX.1 Kontext on image-editing pairs",
      [](flux_kontext::TrainerConfig config) {
        return std::make_unique<flux_kontext::FluxKontextTrainer>(std::move(config));
      }));
  registrar.add_command(flux_kontext::debug_flux_forward_command());
  registrar.add_command(flux_kontext::debug_flux_sample_command());
  registrar.add_command(flux_kontext::debug_vae_command());
  registrar.add_command(flux_kontext::debug_position_ids_command());
  registrar.add_command(flux_kontext::debug_text_encoder_command());
  registrar.add_command(flux_kontext::lora_convert_command());
  registrar.add_command(flux_kontext::init_model_command());
  registrar.add_command(flux_kontext::init_data_command());
  registrar.add_text_encoder(flux_kontext::clip_text_encoder_factory());
  registrar.add_text_encoder(flux_kontext::t5_text_encoder_factory());
  registrar.add_tokenizer(flux_kontext::clip_tokenizer_factory());
  registrar.add_tokenizer(flux_kontext::t5_tokenizer_factory());
}

}  // namespace

OMNI_PLUGIN("flux_kontext", "0.1.0", register_flux_kontext)
