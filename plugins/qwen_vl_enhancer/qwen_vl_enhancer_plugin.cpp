// The qwen_vl_enhancer plugin module: registers the `qwen2_5_vl` prompt enhancer. Its options
// schema is complete; the model itself arrives with the Qwen2.5-VL issue, and until then
// building it is a clear error rather than a silent pass-through.
#include "omni/config.hpp"
#include "omni/error.hpp"
#include "omni/plugin_api.hpp"
#include "omni/prompt_enhancer.hpp"
#include "qwen_vl_options.hpp"

namespace {

void register_qwen_vl_enhancer(omni::Registrar& registrar) {
  omni::PromptEnhancerFactory factory;
  factory.name = "qwen2_5_vl";
  factory.summary = "Qwen2.5-VL prompt rewriting from the reference images (not implemented yet)";
  factory.validate = [](const omni::ConfigView& options, const omni::ComponentProvider&) {
    qwen_vl_enhancer::parse_qwen_vl_options(options);
  };
  factory.create = [](const omni::ConfigView& options,
                      const omni::ComponentProvider&) -> std::unique_ptr<omni::PromptEnhancer> {
    qwen_vl_enhancer::parse_qwen_vl_options(options);
    throw omni::Error("prompt enhancer qwen2_5_vl: the Qwen2.5-VL model is not implemented yet");
  };
  registrar.add_prompt_enhancer(std::move(factory));
}

}  // namespace

OMNI_PLUGIN("qwen_vl_enhancer", "0.1.0", register_qwen_vl_enhancer)
