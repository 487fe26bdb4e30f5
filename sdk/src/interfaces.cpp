// Out-of-line destructors: the key functions that give each exported class one type info.
#include "omni/component.hpp"
#include "omni/distributed.hpp"
#include "omni/error.hpp"
#include "omni/prompt_enhancer.hpp"
#include "omni/text_encoder.hpp"
#include "omni/tokenizer.hpp"
#include "omni/trainer.hpp"

namespace omni {

Error::~Error() = default;
ConfigError::~ConfigError() = default;
Registrar::~Registrar() = default;
ComponentProvider::~ComponentProvider() = default;
Trainer::~Trainer() = default;
TextEncoder::~TextEncoder() = default;
PromptEnhancer::~PromptEnhancer() = default;
Tokenizer::~Tokenizer() = default;

std::string_view kind_name(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::trainer: return "trainer";
    case ComponentKind::text_encoder: return "text encoder";
    case ComponentKind::prompt_enhancer: return "prompt enhancer";
    case ComponentKind::command: return "command";
    case ComponentKind::tokenizer: return "tokenizer";
  }
  return "component";
}

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::cache: return "cache";
    case Stage::fit: return "fit";
    case Stage::predict: return "predict";
  }
  return "stage";
}

ProcessGroup& process_group_of(const StageContext& context) {
  return context.group != nullptr ? *context.group : single_process_group();
}

}  // namespace omni
