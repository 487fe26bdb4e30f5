// A plugin whose registration throws half-way: nothing it added may stay registered.
#include <stdexcept>

#include "omni/config.hpp"
#include "omni/plugin_api.hpp"
#include "omni/trainer.hpp"

namespace {

void register_throwing(omni::Registrar& registrar) {
  registrar.add_trainer({"TestHalfRegistered", "must be rolled back",
                         [](const omni::ConfigView&, const omni::ComponentProvider&) {},
                         [](const omni::ConfigView&, const omni::ComponentProvider&)
                             -> std::unique_ptr<omni::Trainer> { return nullptr; }});
  throw std::runtime_error("the model zoo is closed today");
}

}  // namespace

OMNI_PLUGIN("test_throwing", "1.0.0", register_throwing)
