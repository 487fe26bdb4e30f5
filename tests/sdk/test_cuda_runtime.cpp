// omni::cuda: the CPU meaning of every call on any build, and the CUDA behaviour where this
// process sees a GPU (skipped, saying so, where it does not).
#include <ATen/ATen.h>

#include "omni/cuda_runtime.hpp"
#include "omni/error.hpp"
#include "omni/torch_compat.hpp"
#include "test_support.hpp"

#include "test_checks.hpp"

TEST_SUITE("cuda_runtime") {
  TEST_CASE("on the CPU every call keeps its plain meaning") {
    const c10::Device cpu(c10::kCPU);
    const at::Tensor host = at::arange(12, at::kFloat).reshape({3, 4});
    CHECK(omni::cuda::pinned_for(host, cpu).is_same(host));
    const at::Tensor copied = omni::cuda::to_device(host, cpu);
    CHECK(at::equal(copied, host));
    CHECK(omni::cuda::memory_stats(cpu).peak_allocated_bytes == 0);
    omni::cuda::synchronize(cpu);

    omni::cuda::SideStream side(cpu);
    int ran = 0;
    side.enqueue([&] { ++ran; });
    side.join();
    side.used_by_compute(host);
    CHECK(ran == 1);
  }

  TEST_CASE("attention backends are parsed by name and chosen where LibTorch can") {
    using omni::cuda::AttentionBackend;
    CHECK(omni::cuda::parse_attention_backend("flash", "x") == AttentionBackend::flash);
    CHECK(omni::cuda::parse_attention_backend("auto", "x") == AttentionBackend::automatic);
    CHECK_HAS(omni::test::error_of(
                  [] { omni::cuda::parse_attention_backend("fast", "train.attention"); }),
              "train.attention: 'fast' is not an attention backend");
    omni::cuda::use_attention_backend(AttentionBackend::automatic);
#if OMNI_HAS_SDPA
    omni::cuda::use_attention_backend(AttentionBackend::math);
    CHECK_FALSE(at::globalContext().userEnabledFlashSDP());
    CHECK(at::globalContext().userEnabledMathSDP());
    omni::cuda::use_attention_backend(AttentionBackend::automatic);
    CHECK(at::globalContext().userEnabledFlashSDP());
#else
    CHECK_THROWS_WITH(omni::cuda::use_attention_backend(AttentionBackend::math),
                      doctest::Contains("needs LibTorch 2.0 or newer"));
#endif
  }

  TEST_CASE("on a GPU: pinned memory, non-blocking copies, a side stream, memory statistics") {
    if (!omni::cuda::available()) {
      MESSAGE("needs a CUDA GPU: skipped");
      return;
    }
    const c10::Device gpu(c10::kCUDA, 0);
    const at::Tensor host = at::randn({256, 256});
    const at::Tensor pinned = omni::cuda::pinned_for(host, gpu);
    CHECK(pinned.is_pinned());
    omni::cuda::reset_peak_memory(gpu);
    const at::Tensor on_gpu = omni::cuda::to_device(pinned, gpu);
    CHECK(on_gpu.is_cuda());
    CHECK(omni::cuda::memory_stats(gpu).peak_allocated_bytes >= 256 * 256 * 4);

    omni::cuda::SideStream side(gpu);
    at::Tensor copied;
    side.enqueue([&] { copied = omni::cuda::to_device(pinned, gpu); });
    side.join();
    side.used_by_compute(copied);
    CHECK(at::equal(copied.cpu(), host));
  }
}
