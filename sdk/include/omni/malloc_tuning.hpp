#pragma once
// Makes the memory that freed CPU tensors leave behind serve the next tensors, instead of
// going back to the kernel and faulting in again page by page.
//
// Why: by default glibc serves every block over 32 MiB (activations, attention scores,
// gradients) with its own mmap and unmaps it on free; the next step maps it again and takes
// one page fault per 4 KiB while touching it. On CPU training that was over a third of the
// process's time (bench_flux_transformer `small`: 12.4 M minor faults and 129 s of system time
// in a 185 s run). Freed memory now stays with the process, so its RSS keeps its high-water
// mark until release_free_memory() (which the host calls between stages) or exit.
#include "omni/export.hpp"

namespace omni {

// Turns malloc's own mmap off, stops free() from giving the top of the heap back to the
// kernel, and makes LibTorch's CPU allocator ask malloc for exactly
// `bytes + 64` (aligning inside the block) so a freed tensor's block fits the next tensor of
// its size exactly; posix_memalign asks for more than it keeps, so the block it freed never
// fits its own successor again. Does nothing, and returns false, when the C library is not
// glibc or when GLIBC_TUNABLES sets any glibc.malloc tunable (the user's choice wins).
// Call it once, early in main(); calling it again is harmless.
OMNI_API bool tune_malloc_for_tensors();

// Gives the free memory the tuning keeps back to the kernel (malloc_trim): between phases
// whose tensors differ, such as encoding a data set and then training on it.
OMNI_API void release_free_memory();

}  // namespace omni
