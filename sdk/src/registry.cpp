#include "omni/registry.hpp"

#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/config.hpp"
#include "omni/error.hpp"
#include "omni/prompt_enhancer.hpp"
#include "omni/text_encoder.hpp"
#include "omni/trainer.hpp"

namespace omni {
namespace {

template <class Factory>
struct Registered {
  Factory factory;
  std::string origin;
};

template <class Factory>
using Table = std::map<std::string, Registered<Factory>, std::less<>>;

std::string plural(ComponentKind kind) {
  return std::string(kind_name(kind)) + "s";
}

template <class Factory>
std::vector<std::string> keys_of(const Table<Factory>& table) {
  std::vector<std::string> names;
  for (const auto& [name, entry] : table) names.push_back(name);
  return names;
}

template <class Factory>
const Factory& find_in(const Table<Factory>& table, ComponentKind kind, std::string_view name) {
  auto found = table.find(name);
  if (found != table.end()) return found->second.factory;
  std::vector<std::string> known = keys_of(table);
  if (known.empty()) {
    throw Error(fmt::format("unknown {} '{}'; no {} are registered (see `omnihost plugins`)",
                            kind_name(kind), name, plural(kind)));
  }
  throw Error(fmt::format("unknown {} '{}'; known {}: {}", kind_name(kind), name, plural(kind),
                          fmt::join(known, ", ")));
}

// Collects one plugin's registrations so they can be checked before anything is committed.
class StagingRegistrar final : public Registrar {
 public:
  void add_trainer(TrainerFactory factory) override { trainers.push_back(std::move(factory)); }
  void add_text_encoder(TextEncoderFactory factory) override {
    text_encoders.push_back(std::move(factory));
  }
  void add_prompt_enhancer(PromptEnhancerFactory factory) override {
    prompt_enhancers.push_back(std::move(factory));
  }
  void add_command(CommandFactory factory) override { commands.push_back(std::move(factory)); }
  void add_tokenizer(TokenizerFactory factory) override {
    tokenizers.push_back(std::move(factory));
  }

  std::vector<TrainerFactory> trainers;
  std::vector<TextEncoderFactory> text_encoders;
  std::vector<PromptEnhancerFactory> prompt_enhancers;
  std::vector<CommandFactory> commands;
  std::vector<TokenizerFactory> tokenizers;
};

template <class Factory>
void check_complete(const Factory& factory, ComponentKind kind) {
  if (factory.name.empty()) throw Error(fmt::format("registers a {} without a name", kind_name(kind)));
  if (!factory.validate || !factory.create) {
    throw Error(fmt::format("registers {} '{}' without validate and create functions",
                            kind_name(kind), factory.name));
  }
}

void check_complete(const CommandFactory& factory, ComponentKind kind) {
  if (factory.name.empty()) throw Error(fmt::format("registers a {} without a name", kind_name(kind)));
  if (!factory.run && !factory.run_with_components) {
    throw Error(fmt::format("registers command '{}' without a run function", factory.name));
  }
}

void check_complete(const TokenizerFactory& factory, ComponentKind kind) {
  if (factory.name.empty()) throw Error(fmt::format("registers a {} without a name", kind_name(kind)));
  if (!factory.open) {
    throw Error(fmt::format("registers tokenizer '{}' without an open function", factory.name));
  }
}

template <class Factory>
void check_new(const Table<Factory>& table, const std::vector<Factory>& staged,
               ComponentKind kind, const std::string& origin) {
  std::set<std::string> seen;
  for (const Factory& factory : staged) {
    check_complete(factory, kind);
    auto existing = table.find(factory.name);
    if (existing != table.end()) {
      throw Error(fmt::format("duplicate {} '{}': already registered by {}", kind_name(kind),
                              factory.name, existing->second.origin));
    }
    if (!seen.insert(factory.name).second) {
      throw Error(fmt::format("duplicate {} '{}': registered twice by {}", kind_name(kind),
                              factory.name, origin));
    }
  }
}

template <class Factory>
void commit(Table<Factory>& table, std::vector<Factory>& staged, ComponentKind kind,
            const std::string& origin, std::vector<ComponentEntry>& added) {
  for (Factory& factory : staged) {
    added.push_back({kind, factory.name, factory.summary, origin});
    std::string name = factory.name;
    table.emplace(std::move(name), Registered<Factory>{std::move(factory), origin});
  }
}

template <class Factory>
void list_into(const Table<Factory>& table, ComponentKind kind,
               std::vector<ComponentEntry>& out) {
  for (const auto& [name, entry] : table) {
    out.push_back({kind, name, entry.factory.summary, entry.origin});
  }
}

}  // namespace

struct Registry::Tables {
  Table<TrainerFactory> trainers;
  Table<TextEncoderFactory> text_encoders;
  Table<PromptEnhancerFactory> prompt_enhancers;
  Table<CommandFactory> commands;
  Table<TokenizerFactory> tokenizers;
};

Registry::Registry() : tables_(std::make_unique<Tables>()) {}
Registry::~Registry() = default;

std::vector<ComponentEntry> Registry::register_from(
    const std::string& origin, const std::function<void(Registrar&)>& register_function) {
  StagingRegistrar staging;
  register_function(staging);
  Tables& t = *tables_;
  check_new(t.trainers, staging.trainers, ComponentKind::trainer, origin);
  check_new(t.text_encoders, staging.text_encoders, ComponentKind::text_encoder, origin);
  check_new(t.prompt_enhancers, staging.prompt_enhancers, ComponentKind::prompt_enhancer, origin);
  check_new(t.commands, staging.commands, ComponentKind::command, origin);
  check_new(t.tokenizers, staging.tokenizers, ComponentKind::tokenizer, origin);
  std::vector<ComponentEntry> added;
  commit(t.trainers, staging.trainers, ComponentKind::trainer, origin, added);
  commit(t.text_encoders, staging.text_encoders, ComponentKind::text_encoder, origin, added);
  commit(t.prompt_enhancers, staging.prompt_enhancers, ComponentKind::prompt_enhancer, origin,
         added);
  commit(t.commands, staging.commands, ComponentKind::command, origin, added);
  commit(t.tokenizers, staging.tokenizers, ComponentKind::tokenizer, origin, added);
  return added;
}

const TrainerFactory& Registry::trainer(std::string_view name) const {
  return find_in(tables_->trainers, ComponentKind::trainer, name);
}
const TextEncoderFactory& Registry::text_encoder(std::string_view name) const {
  return find_in(tables_->text_encoders, ComponentKind::text_encoder, name);
}
const PromptEnhancerFactory& Registry::prompt_enhancer(std::string_view name) const {
  return find_in(tables_->prompt_enhancers, ComponentKind::prompt_enhancer, name);
}
const CommandFactory& Registry::command(std::string_view name) const {
  return find_in(tables_->commands, ComponentKind::command, name);
}
const TokenizerFactory& Registry::tokenizer(std::string_view name) const {
  return find_in(tables_->tokenizers, ComponentKind::tokenizer, name);
}

std::vector<std::string> Registry::names(ComponentKind kind) const {
  switch (kind) {
    case ComponentKind::trainer: return keys_of(tables_->trainers);
    case ComponentKind::text_encoder: return keys_of(tables_->text_encoders);
    case ComponentKind::prompt_enhancer: return keys_of(tables_->prompt_enhancers);
    case ComponentKind::command: return keys_of(tables_->commands);
    case ComponentKind::tokenizer: return keys_of(tables_->tokenizers);
  }
  return {};
}

bool Registry::contains(ComponentKind kind, std::string_view name) const {
  for (const std::string& known : names(kind)) {
    if (known == name) return true;
  }
  return false;
}

std::vector<ComponentEntry> Registry::entries() const {
  std::vector<ComponentEntry> out;
  list_into(tables_->trainers, ComponentKind::trainer, out);
  list_into(tables_->text_encoders, ComponentKind::text_encoder, out);
  list_into(tables_->prompt_enhancers, ComponentKind::prompt_enhancer, out);
  list_into(tables_->commands, ComponentKind::command, out);
  list_into(tables_->tokenizers, ComponentKind::tokenizer, out);
  return out;
}

std::unique_ptr<Trainer> Registry::make_trainer(std::string_view name,
                                                const ConfigView& root) const {
  return trainer(name).create(root, *this);
}
std::unique_ptr<TextEncoder> Registry::make_text_encoder(std::string_view name,
                                                         const ConfigView& options) const {
  return text_encoder(name).create(options, *this);
}
std::unique_ptr<PromptEnhancer> Registry::make_prompt_enhancer(std::string_view name,
                                                               const ConfigView& options) const {
  return prompt_enhancer(name).create(options, *this);
}

void Registry::validate_component(ComponentKind kind, std::string_view name,
                                  const ConfigView& options) const {
  switch (kind) {
    case ComponentKind::trainer: return trainer(name).validate(options, *this);
    case ComponentKind::text_encoder: return text_encoder(name).validate(options, *this);
    case ComponentKind::prompt_enhancer: return prompt_enhancer(name).validate(options, *this);
    case ComponentKind::command: command(name); return;
    case ComponentKind::tokenizer: tokenizer(name); return;
  }
}

}  // namespace omni
