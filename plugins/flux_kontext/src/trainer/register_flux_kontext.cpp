#include "flux_kontext/commands/debug_flux_forward.hpp"
#include "flux_kontext/commands/debug_flux_sample.hpp"
#include "flux_kontext/commands/debug_position_ids.hpp"
#include "flux_kontext/commands/debug_text_encoder.hpp"
#include "flux_kontext/commands/debug_vae.hpp"
#include "flux_kontext/commands/lora_command.hpp"
#include "flux_kontext/quickstart/embedded_inputs.hpp"
#include "flux_kontext/text/registered_tokenizers.hpp"
#include "flux_kontext/text/text_encoders.hpp"
#include "flux_kontext/trainer/registration.hpp"

namespace flux_kontext {

void register_flux_kontext(omni::Registrar& registrar) {
  registrar.add_trainer(make_trainer_factory(
      "FluxKontext", "LoRA fine-tuning of FLUX.1 Kontext on image-editing pairs",
      [](TrainerConfig config) { return std::make_unique<FluxKontextTrainer>(std::move(config)); }));
  registrar.add_command(debug_flux_forward_command());
  registrar.add_command(debug_flux_sample_command());
  registrar.add_command(debug_vae_command());
  registrar.add_command(debug_position_ids_command());
  registrar.add_command(debug_text_encoder_command());
  registrar.add_command(lora_convert_command());
  registrar.add_command(init_model_command());
  registrar.add_command(init_data_command());
  registrar.add_text_encoder(clip_text_encoder_factory());
  registrar.add_text_encoder(t5_text_encoder_factory());
  registrar.add_tokenizer(clip_tokenizer_factory());
  registrar.add_tokenizer(t5_tokenizer_factory());
}

}  // namespace flux_kontext
