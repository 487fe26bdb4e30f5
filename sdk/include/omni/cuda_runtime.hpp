#pragma once
// What training and prediction need from CUDA beyond tensors on a device: pinned host memory
// and non-blocking copies for batches, a side stream whose copies overlap compute (block swap),
// the choice of attention kernels, device memory statistics. Built against a LibTorch with CUDA
// this is real CUDA code (sdk/src/cuda_runtime.cpp); built against a CPU-only LibTorch every
// call is the CPU meaning (a plain copy, work run in place, zero statistics), so callers never
// test which build they are in.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "omni/export.hpp"

namespace omni::cuda {

// Whether this build has CUDA and this process sees at least one device.
OMNI_API bool available();

// Waits for the device's queued work (nothing to wait for on the CPU).
OMNI_API void synchronize(const c10::Device& device);

// Host memory for a tensor that will be copied to `device` again and again (batches, swapped
// weights): page-locked when `device` is a CUDA device, so that to_device() can overlap the copy
// with compute; the tensor itself otherwise.
OMNI_API at::Tensor pinned_for(const at::Tensor& host, const c10::Device& device);

// A copy to `device`, non-blocking when the source is pinned host memory: the copy is queued
// on the current stream and the host goes on. No host synchronisation happens here.
OMNI_API at::Tensor to_device(const at::Tensor& tensor, const c10::Device& device);

struct MemoryStats {
  std::int64_t allocated_bytes = 0;       // now, by tensors
  std::int64_t peak_allocated_bytes = 0;  // since the last reset
  std::int64_t reserved_bytes = 0;        // held by the caching allocator
};
// Zero for the CPU.
OMNI_API MemoryStats memory_stats(const c10::Device& device);
OMNI_API void reset_peak_memory(const c10::Device& device);

// The device's name ("NVIDIA H100 80GB HBM3"), "cpu" for the CPU.
OMNI_API std::string device_name(const c10::Device& device);

// The GPU's nominal dense (no sparsity) tensor-core peak in FLOP/s for bf16 or fp16, from the
// vendors' data sheets; 0 for other dtypes, the CPU and GPUs not in the table. MFU figures
// divide by this.
OMNI_API double nominal_dense_peak(const c10::Device& device, c10::ScalarType dtype);

// A CUDA stream beside the compute stream, for copies that overlap compute. enqueue() runs
// `work` with the side stream current, after the compute stream's work queued so far (so a
// copy never reads a tensor that compute is still writing); join() makes the compute stream
// wait for everything enqueued. Tensors made inside `work` and used by compute must be passed
// to used_by_compute() so that the allocator does not hand their memory out early. On the CPU
// enqueue() just runs `work` and the rest does nothing.
class OMNI_API SideStream {
 public:
  explicit SideStream(const c10::Device& device);
  ~SideStream();
  SideStream(const SideStream&) = delete;
  SideStream& operator=(const SideStream&) = delete;

  void enqueue(const std::function<void()>& work);
  void join();
  void used_by_compute(const at::Tensor& tensor);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Which kernels scaled_dot_product_attention may pick on CUDA devices: "auto" (LibTorch's
// order: flash, cuDNN, memory-efficient, math) or exactly one of "flash", "cudnn",
// "efficient", "math".
enum class AttentionBackend { automatic, flash, cudnn, efficient, math };
// Throws omni::Error naming `what` and the accepted names.
OMNI_API AttentionBackend parse_attention_backend(std::string_view text, std::string_view what);
OMNI_API std::string_view attention_backend_name(AttentionBackend backend);
// Process-wide, as LibTorch's own switch is. Throws omni::Error when this LibTorch cannot
// choose (before 2.0) or lacks the kernel (cuDNN attention before 2.3).
OMNI_API void use_attention_backend(AttentionBackend backend);

}  // namespace omni::cuda
