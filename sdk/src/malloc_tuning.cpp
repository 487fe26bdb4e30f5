#include "omni/malloc_tuning.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include "omni/torch_compat.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace omni {
namespace {

#if defined(__GLIBC__)

// LibTorch's CPU allocator, but through plain malloc: the block is 64 bytes longer than the
// tensor, the tensor starts at the first 64-byte boundary past the block's start, and the
// block's address sits in the 8 bytes before the tensor. glibc's blocks are 16-byte aligned,
// so there is always room for it.
class MallocCpuAllocator final : public c10::Allocator {
 public:
  static constexpr std::uintptr_t alignment = 64;  // what LibTorch's own allocator gives

  c10::DataPtr allocate(std::size_t bytes) OMNI_ALLOCATOR_ALLOCATE_CONST override {
    void* data = allocate_aligned(bytes);
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
#if OMNI_ALLOCATOR_HAS_COPY_DATA
  void copy_data(void* destination, const void* source, std::size_t count) const override {
    std::memcpy(destination, source, count);
  }
#endif

 private:
  static void* allocate_aligned(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    void* block = std::malloc(bytes + alignment);
    TORCH_CHECK(block != nullptr, "not enough memory: tried to allocate ", bytes, " bytes");
    const auto start = reinterpret_cast<std::uintptr_t>(block);
    void* data = reinterpret_cast<void*>((start + alignment) & ~(alignment - 1));
    static_cast<void**>(data)[-1] = block;
    return data;
  }
  static void release(void* data) {
    if (data != nullptr) std::free(static_cast<void**>(data)[-1]);
  }
};

#endif

}  // namespace

bool tune_malloc_for_tensors() {
#if defined(__GLIBC__)
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) return false;
  // Every block from the heap: mmap'd blocks are returned on free and fault in again on reuse.
  // A trim threshold of -1 turns trimming off: a training step frees gigabytes at the top of
  // the heap and allocates them again in the next one. release_free_memory() gives it back.
  // Grow the heap in 64 MiB steps so that a run of growing tensors costs few brk calls.
  const bool tuned = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, -1) == 1 &&
                     mallopt(M_TOP_PAD, 64 << 20) == 1;
  // Tensors allocated before keep their own deleter, so switching allocators is safe at any
  // time. Never destroyed: static destructors that run after ours may still allocate.
  static auto* const allocator = new MallocCpuAllocator();
  c10::SetCPUAllocator(allocator, /*priority=*/UINT8_MAX);
  return tuned;
#else
  return false;
#endif
}

void release_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace omni
