// A shared library that exports something, but not the plugin entry point.
extern "C" __attribute__((visibility("default"))) int omni_something_else(void) { return 42; }
