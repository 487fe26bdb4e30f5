// Registers a trainer name that test_good already registered.
#include "omni/config.hpp"
#include "omni/plugin_api.hpp"
#include "omni/trainer.hpp"

namespace {

void register_duplicate(omni::Registrar& registrar) {
  registrar.add_trainer({"TestRecorder", "a second trainer under a taken name",
                         [](const omni::ConfigView&, const omni::ComponentProvider&) {},
                         [](const omni::ConfigView&, const omni::ComponentProvider&)
                             -> std::unique_ptr<omni::Trainer> { return nullptr; }});
}

}  // namespace

OMNI_PLUGIN("test_good_duplicate", "1.0.0", register_duplicate)
