#pragma once
// Helpers for plugin authors' unit tests: load a plugin file, look up what it registered and
// build components from a YAML snippet, exactly as the host does.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "omni/config.hpp"
#include "omni/plugin_loader.hpp"
#include "omni/prompt_enhancer.hpp"
#include "omni/registry.hpp"
#include "omni/text_encoder.hpp"
#include "omni/trainer.hpp"

namespace omni::testing {

class PluginHarness {
 public:
  PluginHarness() : loader_(registry_) {}
  // Loads `plugin_file`; throws omni::Error with the host's rejection reason.
  explicit PluginHarness(const std::filesystem::path& plugin_file) : loader_(registry_) {
    load(plugin_file);
  }

  LoadedPlugin load(const std::filesystem::path& plugin_file) {
    return loader_.load(plugin_file);
  }
  Registry& registry() { return registry_; }

  // Parses `yaml`, runs the trainer's validation, rejects unknown keys, then builds it.
  std::unique_ptr<Trainer> make_trainer(std::string_view name, std::string_view yaml) {
    ConfigDocument document = ConfigDocument::from_string(yaml, "<test>");
    const TrainerFactory& factory = registry_.trainer(name);
    factory.validate(document.root(), registry_);
    document.check_unknown_keys();
    return factory.create(document.root(), registry_);
  }

  // Validation only (what `omnihost validate` does for the trainer's sections).
  void validate_trainer(std::string_view name, std::string_view yaml) {
    ConfigDocument document = ConfigDocument::from_string(yaml, "<test>");
    registry_.trainer(name).validate(document.root(), registry_);
    document.check_unknown_keys();
  }

  std::unique_ptr<PromptEnhancer> make_prompt_enhancer(std::string_view name,
                                                       std::string_view yaml) {
    ConfigDocument document = ConfigDocument::from_string(yaml, "<test>");
    registry_.validate_component(ComponentKind::prompt_enhancer, name, document.root());
    document.check_unknown_keys();
    return registry_.make_prompt_enhancer(name, document.root());
  }

  std::unique_ptr<TextEncoder> make_text_encoder(std::string_view name, std::string_view yaml) {
    ConfigDocument document = ConfigDocument::from_string(yaml, "<test>");
    registry_.validate_component(ComponentKind::text_encoder, name, document.root());
    document.check_unknown_keys();
    return registry_.make_text_encoder(name, document.root());
  }

 private:
  Registry registry_;
  PluginLoader loader_;
};

}  // namespace omni::testing
