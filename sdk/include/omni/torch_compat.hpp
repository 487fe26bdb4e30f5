#pragma once
// Every difference between the LibTorch versions we build against (Debian 12's 1.13, CPU;
// current 2.x, with CUDA where present) lives here, so no other file tests versions.
#include <optional>
#include <stdexcept>
#include <string>

#include <ATen/ATen.h>
#include <torch/version.h>

#define OMNI_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||       \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// scaled_dot_product_attention (fused flash / memory-efficient / cuDNN kernels) exists from
// 2.0 on; 1.13 gets the textbook softmax(q k^T / sqrt(d)) v with the same semantics.
#define OMNI_HAS_SDPA OMNI_TORCH_AT_LEAST(2, 0)
// The float8 dtypes (safetensors F8_E4M3 / F8_E5M2) arrived in 2.1.
#define OMNI_HAS_FLOAT8 OMNI_TORCH_AT_LEAST(2, 1)
// c10::Allocator::allocate stopped being const, and copy_data became a pure virtual, in 2.3.
#if OMNI_TORCH_AT_LEAST(2, 3)
#define OMNI_ALLOCATOR_ALLOCATE_CONST
#define OMNI_ALLOCATOR_HAS_COPY_DATA 1
#else
#define OMNI_ALLOCATOR_ALLOCATE_CONST const
#define OMNI_ALLOCATOR_HAS_COPY_DATA 0
#endif

namespace omni::compat {

// Which fused attention kernels scaled_dot_product_attention may use (process-wide). Before
// 2.0 there is no choice to make; cuDNN attention arrived in 2.3. Throws std::runtime_error
// when a kernel is asked for that this LibTorch lacks.
inline void choose_attention_kernels(bool flash, bool cudnn, bool efficient, bool math) {
#if OMNI_HAS_SDPA
  at::globalContext().setSDPUseFlash(flash);
  at::globalContext().setSDPUseMemEfficient(efficient);
  at::globalContext().setSDPUseMath(math);
#if OMNI_TORCH_AT_LEAST(2, 3)
  at::globalContext().setSDPUseCuDNN(cudnn);
#else
  if (cudnn && !(flash && efficient && math)) {
    throw std::runtime_error("cuDNN attention needs LibTorch 2.3 or newer");
  }
#endif
#else
  if (!(flash && cudnn && efficient && math)) {
    throw std::runtime_error("choosing an attention kernel needs LibTorch 2.0 or newer (this is " +
                             std::string(TORCH_VERSION) + ")");
  }
#endif
}

// Attention over [batch, heads, tokens, head_dim] tensors. `mask` is additive (float,
// broadcastable to [batch, heads, q_tokens, k_tokens]) or boolean (true = attend).
inline at::Tensor scaled_dot_product_attention(const at::Tensor& query, const at::Tensor& key,
                                               const at::Tensor& value,
                                               const std::optional<at::Tensor>& mask = {},
                                               bool is_causal = false,
                                               std::optional<double> scale = {}) {
#if OMNI_TORCH_AT_LEAST(2, 1)
  return at::scaled_dot_product_attention(query, key, value,
                                          mask ? c10::optional<at::Tensor>(*mask) : c10::nullopt,
                                          0.0, is_causal,
                                          scale ? c10::optional<double>(*scale) : c10::nullopt);
#else
  const double factor = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(query.size(-1)));
  at::Tensor scores = at::matmul(query, key.transpose(-2, -1)) * factor;
  if (is_causal) {
    const int64_t q = query.size(-2), k = key.size(-2);
    at::Tensor allowed = at::ones({q, k}, query.options().dtype(at::kBool)).tril(k - q);
    scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
  }
  if (mask) {
    if (mask->scalar_type() == at::kBool) {
      scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<float>::infinity());
    } else {
      scores = scores + *mask;
    }
  }
  return at::matmul(at::softmax(scores, -1), value);
#endif
}

}  // namespace omni::compat
