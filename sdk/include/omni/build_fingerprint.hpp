#pragma once
// What a C++ module must agree on with the host to share objects with it: the compiler
// family and major version, the libstdc++ string/list ABI, the exact LibTorch version,
// whether that LibTorch has CUDA, and debug versus release. Computed from the macros of the
// translation unit that expands OMNI_BUILD_FINGERPRINT, so a plugin records its own build.
#include <torch/version.h>

#define OMNI_STRINGIFY_IMPL(x) #x
#define OMNI_STRINGIFY(x) OMNI_STRINGIFY_IMPL(x)

#if defined(__clang__)
#define OMNI_COMPILER_ID "clang " OMNI_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define OMNI_COMPILER_ID "gcc " OMNI_STRINGIFY(__GNUC__)
#else
#define OMNI_COMPILER_ID "unknown"
#endif

#if defined(_GLIBCXX_USE_CXX11_ABI)
#define OMNI_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#else
#define OMNI_CXX11_ABI -1
#endif

// OMNI_WITH_CUDA is a public compile definition of the SDK target, set from the LibTorch
// that the SDK was configured with.
#if defined(OMNI_WITH_CUDA) && OMNI_WITH_CUDA
#define OMNI_CUDA_FLAG 1
#else
#define OMNI_CUDA_FLAG 0
#endif

#if defined(NDEBUG)
#define OMNI_DEBUG_FLAG 0
#else
#define OMNI_DEBUG_FLAG 1
#endif

extern "C" {
struct OmniBuildFingerprint {
  const char* compiler;       // "gcc 12", "clang 14"
  int cxx11_abi;              // _GLIBCXX_USE_CXX11_ABI, or -1 when not libstdc++
  const char* torch_version;  // TORCH_VERSION, e.g. "1.13.0"
  int cuda;                   // 1 when built against a LibTorch with CUDA
  int debug;                  // 1 for a build without NDEBUG
};
}

#define OMNI_BUILD_FINGERPRINT \
  { OMNI_COMPILER_ID, OMNI_CXX11_ABI, TORCH_VERSION, OMNI_CUDA_FLAG, OMNI_DEBUG_FLAG }
