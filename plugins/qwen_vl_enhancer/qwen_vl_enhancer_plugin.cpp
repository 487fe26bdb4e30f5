// The qwen_vl_enhancer plugin module: registers the `qwen2_5_vl` prompt enhancer, Qwen2.5-VL
// run in LibTorch (the model code is the omni_qwen_vl library), and `omnihost debug vlm`.
#include "omni/config.hpp"
#include "omni/plugin_api.hpp"
#include "omni/prompt_enhancer.hpp"
#include "qwen_vl/debug_vlm.hpp"
#include "qwen_vl/qwen_vl_enhancer.hpp"
#include "qwen_vl/registered_tokenizer.hpp"
#include "qwen_vl_options.hpp"

namespace {

void register_qwen_vl_enhancer(omni::Registrar& registrar) {
  omni::PromptEnhancerFactory factory;
  factory.name = "qwen2_5_vl";
  factory.summary = "Qwen2.5-VL prompt rewriting from the reference images";
  factory.validate = [](const omni::ConfigView& options, const omni::ComponentProvider&) {
    qwen_vl_enhancer::parse_qwen_vl_options(options);
  };
  factory.create = [](const omni::ConfigView& options,
                      const omni::ComponentProvider&) -> std::unique_ptr<omni::PromptEnhancer> {
    return std::make_unique<qwen_vl::QwenVlEnhancer>(
        qwen_vl_enhancer::parse_qwen_vl_options(options));
  };
  registrar.add_prompt_enhancer(std::move(factory));
  registrar.add_command(qwen_vl::debug_vlm_command());
  registrar.add_tokenizer(qwen_vl::qwen_tokenizer_factory());
}

}  // namespace

OMNI_PLUGIN("qwen_vl_enhancer", "0.1.0", register_qwen_vl_enhancer)
