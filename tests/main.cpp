#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "omni/malloc_tuning.hpp"

int main(int argc, char** argv) {
  omni::tune_malloc_for_tensors();  // the allocator omnihost runs with
  doctest::Context context(argc, argv);
  return context.run();
}
