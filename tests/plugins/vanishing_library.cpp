// A library that test_missing_dependency links but the dynamic loader cannot find.
extern "C" __attribute__((visibility("default"))) int omni_vanishing_answer(void) { return 42; }
