// The malloc tuning that omnihost applies at start: a large tensor freed and allocated again
// reuses the process's pages instead of faulting in fresh ones from the kernel.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "omni/malloc_tuning.hpp"

namespace {

long minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Under AddressSanitizer (-DOMNI_SANITIZE=ON) its allocator replaces glibc's, whose tunables
// then do nothing: mallopt reports failure and the tuning says so.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kGlibcAllocator = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kGlibcAllocator = false;
#else
constexpr bool kGlibcAllocator = true;
#endif
#else
constexpr bool kGlibcAllocator = true;
#endif

// Whether the user set glibc malloc tunables, which the tuning leaves alone.
bool malloc_tunables_set() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr;
}

// Resident memory of this process, from /proc/self/statm (in pages).
std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

}  // namespace

TEST_SUITE("malloc_tuning") {
  TEST_CASE("a freed 256 MiB tensor's pages are reused by the next one of its size") {
    if (malloc_tunables_set()) {
      MESSAGE("GLIBC_TUNABLES sets malloc tunables: the tuning defers to them, nothing to check");
      return;
    }
    if (!kGlibcAllocator) {
      CHECK_FALSE(omni::tune_malloc_for_tensors());
      MESSAGE("AddressSanitizer's allocator replaces glibc's: no page reuse to check");
      return;
    }
    REQUIRE(omni::tune_malloc_for_tensors());
    constexpr std::int64_t floats = 64 << 20;  // 256 MiB, far above glibc's 32 MiB mmap cap
    // Untuned, glibc maps every such block anew and unmaps it on free: each round takes one
    // fault per 4 KiB page, 65,536 of them. Tuned, the first round grows the heap and every
    // later one reuses that block, even with small allocations (the tensors' own objects)
    // made after it, which keep it from merging back into the top of the heap.
    for (int round = 0; round < 3; ++round) {
      const long before = minor_page_faults();
      const at::Tensor block = at::empty({floats}).fill_(float(round));
      const long faults = minor_page_faults() - before;
      CHECK(block[floats - 1].item<float>() == float(round));
      CHECK(reinterpret_cast<std::uintptr_t>(block.data_ptr()) % 64 == 0);
      if (round > 0) CHECK_MESSAGE(faults < 1000, "round ", round, ": ", faults, " faults");
    }
  }

  TEST_CASE("tensors from the tuned allocator: empty, small, freed after a switch") {
    const at::Tensor before = at::arange(1000, at::kFloat);  // may predate the tuning
    REQUIRE(omni::tune_malloc_for_tensors() == (kGlibcAllocator && !malloc_tunables_set()));
    const at::Tensor empty = at::empty({0});
    CHECK(empty.numel() == 0);
    for (std::int64_t size : {1, 3, 17, 4096, 100000}) {
      const at::Tensor t = at::arange(size, at::kDouble);
      CHECK(reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 64 == 0);
      CHECK(t.sum().item<double>() == double(size) * double(size - 1) / 2);
    }
    CHECK(before.sum().item<float>() == 499500.0f);
  }

  TEST_CASE("release_free_memory gives a freed block back to the kernel") {
    if (!omni::tune_malloc_for_tensors()) return;  // untuned, glibc unmaps it on free anyway
    constexpr std::int64_t floats = 64 << 20;  // 256 MiB
    at::empty({floats}).fill_(1.0f);
    const std::int64_t kept = resident_bytes();
    omni::release_free_memory();
    const std::int64_t released = kept - resident_bytes();
    CHECK_MESSAGE(released > (200 << 20), "released ", released, " bytes");
  }
}
