#pragma once
// The host-side table of everything plugins registered, keyed by (kind, name).
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "omni/component.hpp"
#include "omni/export.hpp"
#include "omni/tokenizer.hpp"

namespace omni {

struct ComponentEntry {
  ComponentKind kind;
  std::string name;
  std::string summary;
  std::string origin;  // the plugin file (or other source) that registered it
};

class OMNI_API Registry final : public ComponentProvider {
 public:
  Registry();
  ~Registry() override;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Runs `register_function` against a staging registrar and commits what it added only if
  // it returned normally and every name is new for its kind. Otherwise throws omni::Error
  // (a duplicate names both origins) and the registry is unchanged.
  std::vector<ComponentEntry> register_from(
      const std::string& origin, const std::function<void(Registrar&)>& register_function);

  // Lookups throw omni::Error listing the known names of that kind on a miss.
  const TrainerFactory& trainer(std::string_view name) const;
  const TextEncoderFactory& text_encoder(std::string_view name) const;
  const PromptEnhancerFactory& prompt_enhancer(std::string_view name) const;
  const CommandFactory& command(std::string_view name) const;
  const TokenizerFactory& tokenizer(std::string_view name) const;

  bool contains(ComponentKind kind, std::string_view name) const;
  std::vector<std::string> names(ComponentKind kind) const;  // sorted
  std::vector<ComponentEntry> entries() const;               // by kind, then name

  std::unique_ptr<Trainer> make_trainer(std::string_view name,
                                        const ConfigView& root) const override;
  std::unique_ptr<TextEncoder> make_text_encoder(std::string_view name,
                                                 const ConfigView& options) const override;
  std::unique_ptr<PromptEnhancer> make_prompt_enhancer(std::string_view name,
                                                       const ConfigView& options) const override;
  void validate_component(ComponentKind kind, std::string_view name,
                          const ConfigView& options) const override;

 private:
  struct Tables;
  std::unique_ptr<Tables> tables_;
};

}  // namespace omni
