#include "omni/cuda_runtime.hpp"

#include <optional>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/torch_compat.hpp"

#if OMNI_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace omni::cuda {

bool available() {
#if OMNI_WITH_CUDA
  return c10::cuda::device_count() > 0;
#else
  return false;
#endif
}

void synchronize(const c10::Device& device) {
#if OMNI_WITH_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDAGuard guard(device);
    c10::cuda::device_synchronize();
  }
#else
  (void)device;
#endif
}

at::Tensor pinned_for(const at::Tensor& host, const c10::Device& device) {
#if OMNI_WITH_CUDA
  if (device.is_cuda() && host.device().is_cpu() && !host.is_pinned()) return host.pin_memory();
#else
  (void)device;
#endif
  return host;
}

at::Tensor to_device(const at::Tensor& tensor, const c10::Device& device) {
  // non_blocking only matters (and is only safe) from pinned memory to a CUDA device.
  const bool non_blocking = device.is_cuda() && tensor.device().is_cpu() && tensor.is_pinned();
  return tensor.to(device, /*non_blocking=*/non_blocking);
}

MemoryStats memory_stats(const c10::Device& device) {
  MemoryStats stats;
#if OMNI_WITH_CUDA
  if (device.is_cuda()) {
    const auto index = device.has_index() ? device.index() : c10::cuda::current_device();
    const auto raw = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    // Index 0 is the aggregate over the small and large pools.
    stats.allocated_bytes = raw.allocated_bytes[0].current;
    stats.peak_allocated_bytes = raw.allocated_bytes[0].peak;
    stats.reserved_bytes = raw.reserved_bytes[0].current;
  }
#else
  (void)device;
#endif
  return stats;
}

void reset_peak_memory(const c10::Device& device) {
#if OMNI_WITH_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(
        device.has_index() ? device.index() : c10::cuda::current_device());
  }
#else
  (void)device;
#endif
}

std::string device_name(const c10::Device& device) {
#if OMNI_WITH_CUDA
  if (device.is_cuda()) {
    return at::cuda::getDeviceProperties(device.has_index() ? device.index()
                                                            : c10::cuda::current_device())
        ->name;
  }
#endif
  return device.str();
}

double nominal_dense_peak(const c10::Device& device, c10::ScalarType dtype) {
  if (!device.is_cuda() || (dtype != at::kBFloat16 && dtype != at::kHalf)) return 0;
  const std::string name = device_name(device);
  const auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  if (has("H100") && (has("PCIe") || has("PCIE"))) return 756e12;
  if (has("H100") || has("H200") || has("H800") || has("GH200")) return 989.4e12;
  if (has("B200")) return 2250e12;
  if (has("A100")) return 312e12;
  if (has("L40S")) return 362e12;
  if (has("RTX 4090")) return 165.2e12;
  return 0;
}

struct SideStream::State {
  c10::Device device;
#if OMNI_WITH_CUDA
  std::optional<c10::cuda::CUDAStream> stream;  // only for CUDA devices
  std::optional<at::cuda::CUDAEvent> done;
#endif
};

SideStream::SideStream(const c10::Device& device) : state_(new State{device}) {
#if OMNI_WITH_CUDA
  if (device.is_cuda()) {
    state_->stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
  }
#endif
}

SideStream::~SideStream() = default;

void SideStream::enqueue(const std::function<void()>& work) {
#if OMNI_WITH_CUDA
  if (state_->stream) {
    const c10::cuda::CUDAStream compute = c10::cuda::getCurrentCUDAStream(state_->device.index());
    at::cuda::CUDAEvent compute_so_far;
    compute_so_far.record(compute);
    compute_so_far.block(*state_->stream);
    {
      c10::cuda::CUDAStreamGuard on_side(*state_->stream);
      work();
    }
    state_->done.emplace();
    state_->done->record(*state_->stream);
    return;
  }
#endif
  work();
}

void SideStream::join() {
#if OMNI_WITH_CUDA
  if (state_->stream && state_->done) {
    state_->done->block(c10::cuda::getCurrentCUDAStream(state_->device.index()));
  }
#endif
}

void SideStream::used_by_compute(const at::Tensor& tensor) {
#if OMNI_WITH_CUDA
  if (state_->stream && tensor.defined() && tensor.is_cuda()) {
    c10::cuda::CUDACachingAllocator::recordStream(
        tensor.storage().data_ptr(), c10::cuda::getCurrentCUDAStream(state_->device.index()));
  }
#else
  (void)tensor;
#endif
}

AttentionBackend parse_attention_backend(std::string_view text, std::string_view what) {
  for (AttentionBackend backend : {AttentionBackend::automatic, AttentionBackend::flash,
                                   AttentionBackend::cudnn, AttentionBackend::efficient,
                                   AttentionBackend::math}) {
    if (text == attention_backend_name(backend)) return backend;
  }
  throw Error(fmt::format("{}: '{}' is not an attention backend; expected auto, flash, cudnn, "
                          "efficient or math",
                          what, text));
}

std::string_view attention_backend_name(AttentionBackend backend) {
  switch (backend) {
    case AttentionBackend::automatic: return "auto";
    case AttentionBackend::flash: return "flash";
    case AttentionBackend::cudnn: return "cudnn";
    case AttentionBackend::efficient: return "efficient";
    case AttentionBackend::math: return "math";
  }
  return "auto";
}

void use_attention_backend(AttentionBackend backend) {
  const bool all = backend == AttentionBackend::automatic;
  compat::choose_attention_kernels(all || backend == AttentionBackend::flash,
                                   all || backend == AttentionBackend::cudnn,
                                   all || backend == AttentionBackend::efficient,
                                   all || backend == AttentionBackend::math);
}

}  // namespace omni::cuda
