// The external_command_enhancer plugin module: registers the `external_command` prompt
// enhancer. It shares nothing with the host but the SDK, which is what makes enhancers
// swappable by config.
#include "external_command_enhancer.hpp"
#include "omni/plugin_api.hpp"

namespace {

void register_external_command_enhancer(omni::Registrar& registrar) {
  omni::PromptEnhancerFactory factory;
  factory.name = "external_command";
  factory.summary = "rewrites the instruction by running a user's program on the reference images";
  factory.validate = [](const omni::ConfigView& options, const omni::ComponentProvider&) {
    external_command_enhancer::parse_external_command_options(options);
  };
  factory.create = [](const omni::ConfigView& options, const omni::ComponentProvider&) {
    return std::unique_ptr<omni::PromptEnhancer>(
        std::make_unique<external_command_enhancer::ExternalCommandEnhancer>(
            external_command_enhancer::parse_external_command_options(options)));
  };
  registrar.add_prompt_enhancer(std::move(factory));
}

}  // namespace

OMNI_PLUGIN("external_command_enhancer", "0.1.0", register_external_command_enhancer)
