// The registry: lookup by kind, duplicates rejected with both origins, misses list names,
// a failed registration leaves nothing behind.
#include <doctest/doctest.h>

#include <stdexcept>

#include "omni/config.hpp"
#include "omni/error.hpp"
#include "omni/prompt_enhancer.hpp"
#include "omni/registry.hpp"
#include "omni/trainer.hpp"

namespace {

omni::TrainerFactory trainer_named(const std::string& name) {
  return {name, "summary of " + name,
          [](const omni::ConfigView&, const omni::ComponentProvider&) {},
          [](const omni::ConfigView&, const omni::ComponentProvider&)
              -> std::unique_ptr<omni::Trainer> { return nullptr; }};
}

omni::PromptEnhancerFactory enhancer_named(const std::string& name) {
  return {name, "", [](const omni::ConfigView&, const omni::ComponentProvider&) {},
          [](const omni::ConfigView&, const omni::ComponentProvider&)
              -> std::unique_ptr<omni::PromptEnhancer> { return nullptr; }};
}

}  // namespace

TEST_SUITE("registry") {
  TEST_CASE("lookup is by kind and name") {
    omni::Registry registry;
    registry.register_from("a.so", [](omni::Registrar& registrar) {
      registrar.add_trainer(trainer_named("Alpha"));
      registrar.add_prompt_enhancer(enhancer_named("Alpha"));  // same name, other kind: fine
    });
    CHECK(registry.trainer("Alpha").summary == "summary of Alpha");
    CHECK(registry.contains(omni::ComponentKind::prompt_enhancer, "Alpha"));
    CHECK_FALSE(registry.contains(omni::ComponentKind::text_encoder, "Alpha"));
    REQUIRE(registry.entries().size() == 2);
    CHECK(registry.entries()[0].origin == "a.so");
  }

  TEST_CASE("a miss lists the known names of that kind") {
    omni::Registry registry;
    CHECK_THROWS_WITH_AS(registry.trainer("Nope"),
                         "unknown trainer 'Nope'; no trainers are registered (see `omnihost "
                         "plugins`)",
                         omni::Error);
    registry.register_from("a.so", [](omni::Registrar& registrar) {
      registrar.add_trainer(trainer_named("Zeta"));
      registrar.add_trainer(trainer_named("Alpha"));
    });
    CHECK_THROWS_WITH_AS(registry.trainer("Beta"),
                         "unknown trainer 'Beta'; known trainers: Alpha, Zeta", omni::Error);
    CHECK_THROWS_WITH_AS(registry.prompt_enhancer("Alpha"),
                         doctest::Contains("unknown prompt enhancer 'Alpha'"), omni::Error);
  }

  TEST_CASE("a duplicate names both origins and commits nothing") {
    omni::Registry registry;
    registry.register_from("/plugins/first.so", [](omni::Registrar& registrar) {
      registrar.add_trainer(trainer_named("Alpha"));
    });
    CHECK_THROWS_WITH_AS(registry.register_from("/plugins/second.so",
                                                [](omni::Registrar& registrar) {
                                                  registrar.add_trainer(trainer_named("Other"));
                                                  registrar.add_trainer(trainer_named("Alpha"));
                                                }),
                         "duplicate trainer 'Alpha': already registered by /plugins/first.so",
                         omni::Error);
    CHECK_FALSE(registry.contains(omni::ComponentKind::trainer, "Other"));
    CHECK_THROWS_WITH_AS(registry.register_from("/plugins/third.so",
                                                [](omni::Registrar& registrar) {
                                                  registrar.add_trainer(trainer_named("Twice"));
                                                  registrar.add_trainer(trainer_named("Twice"));
                                                }),
                         "duplicate trainer 'Twice': registered twice by /plugins/third.so",
                         omni::Error);
  }

  TEST_CASE("a registration that throws leaves nothing registered") {
    omni::Registry registry;
    CHECK_THROWS_AS(registry.register_from("x.so",
                                           [](omni::Registrar& registrar) {
                                             registrar.add_trainer(trainer_named("Half"));
                                             throw std::runtime_error("boom");
                                           }),
                    std::runtime_error);
    CHECK(registry.entries().empty());
  }

  TEST_CASE("incomplete factories are rejected") {
    omni::Registry registry;
    omni::TrainerFactory incomplete = trainer_named("Incomplete");
    incomplete.create = nullptr;
    CHECK_THROWS_WITH_AS(registry.register_from("x.so",
                                                [&](omni::Registrar& registrar) {
                                                  registrar.add_trainer(incomplete);
                                                }),
                         "registers trainer 'Incomplete' without validate and create functions",
                         omni::Error);
  }
}
