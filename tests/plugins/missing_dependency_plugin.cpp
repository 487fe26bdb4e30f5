// Needs libomni_test_vanishing.so, which is not on any search path at run time.
#include "omni/plugin_api.hpp"

extern "C" int omni_vanishing_answer(void);

namespace {
void register_nothing(omni::Registrar&) { omni_vanishing_answer(); }
}  // namespace

OMNI_PLUGIN("test_missing_dependency", "1.0.0", register_nothing)
