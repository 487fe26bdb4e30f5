#pragma once
// What a plugin can register: a factory per component, keyed by (kind, name).
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "omni/export.hpp"

namespace omni {

class ConfigView;
class ComponentProvider;
class Trainer;
class TextEncoder;
class PromptEnhancer;
struct TokenizerFactory;

enum class ComponentKind { trainer, text_encoder, prompt_enhancer, command, tokenizer };

// "trainer", "text encoder", ... as written in messages.
OMNI_API std::string_view kind_name(ComponentKind kind);

// A factory for one named component. `validate` reads every option the component would
// read, with the same strictness, but loads no model: `omnihost validate` runs only this.
// `create` builds the object. Both get the component's own config section (for a trainer:
// the whole document, whose sections it owns) and the registry, for components that name
// other components.
template <class Interface>
struct ComponentFactory {
  std::string name;
  std::string summary;
  std::function<void(const ConfigView& options, const ComponentProvider& components)> validate;
  std::function<std::unique_ptr<Interface>(const ConfigView& options,
                                           const ComponentProvider& components)>
      create;
};

using TrainerFactory = ComponentFactory<Trainer>;
using TextEncoderFactory = ComponentFactory<TextEncoder>;
using PromptEnhancerFactory = ComponentFactory<PromptEnhancer>;

// A host subcommand contributed by a plugin, e.g. "debug flux-forward". `run` gets the
// arguments after the command's own words and returns the process exit code.
struct CommandFactory {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& arguments)> run;
  // Instead of `run`, for a command that builds components by name (a trainer, for
  // `debug position-ids`): it also gets the host's registry.
  std::function<int(const std::vector<std::string>& arguments, const ComponentProvider& components)>
      run_with_components;
};

// How plugins hand their factories to the host. Called only from a plugin's registration
// function; names must be unique per kind across all plugins.
class OMNI_API Registrar {
 public:
  virtual ~Registrar();
  virtual void add_trainer(TrainerFactory factory) = 0;
  virtual void add_text_encoder(TextEncoderFactory factory) = 0;
  virtual void add_prompt_enhancer(PromptEnhancerFactory factory) = 0;
  virtual void add_command(CommandFactory factory) = 0;
  virtual void add_tokenizer(TokenizerFactory factory) = 0;
};

// Lets a component build other components by name (a trainer building the prompt enhancer
// its config names), without knowing which plugin provides them.
class OMNI_API ComponentProvider {
 public:
  virtual ~ComponentProvider();
  // A trainer from a whole config document (`root`), as the host builds it for `run`.
  virtual std::unique_ptr<Trainer> make_trainer(std::string_view name,
                                                const ConfigView& root) const = 0;
  virtual std::unique_ptr<TextEncoder> make_text_encoder(std::string_view name,
                                                         const ConfigView& options) const = 0;
  virtual std::unique_ptr<PromptEnhancer> make_prompt_enhancer(
      std::string_view name, const ConfigView& options) const = 0;
  // Runs the named component's `validate`; throws omni::Error naming the known ones on a miss.
  virtual void validate_component(ComponentKind kind, std::string_view name,
                                  const ConfigView& options) const = 0;
};

}  // namespace omni
