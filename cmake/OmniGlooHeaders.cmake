# Gloo's headers, for the one source file that includes LibTorch's ProcessGroupGloo.hpp
# (sdk/src/distributed/c10d_compat.cpp). LibTorch carries Gloo's code inside libtorch_cpu but
# ships no Gloo headers (PyPI's wheel), or headers of another Gloo than its own (Debian 12's
# libgloo-dev predates the store interface that LibTorch 2.x's header overrides). The pinned
# Gloo source (cmake/dependency-sources.txt) serves every LibTorch this project builds with:
# only declarations are used, no Gloo code is compiled, and the classes LibTorch's header
# defines hold Gloo's objects only behind pointers.
include_guard(GLOBAL)
include(OmniDependencySources)

function(omni_gloo_headers out_include_dir)
  omni_dependency_source(gloo archive sha256 pool)
  set(root "${PROJECT_BINARY_DIR}/_deps/gloo-headers")
  set(stamp "${root}/.stamp-${sha256}")
  if(NOT EXISTS "${stamp}")
    omni_fetch_dependency_archive(gloo path)
    file(REMOVE_RECURSE "${root}")
    file(ARCHIVE_EXTRACT INPUT "${path}" DESTINATION "${root}/source")
    file(GLOB source_dir LIST_DIRECTORIES true "${root}/source/gloo-*")
    if(NOT EXISTS "${source_dir}/gloo/config.h.in")
      message(FATAL_ERROR "gloo: ${path} holds no gloo/config.h.in")
    endif()
    file(COPY "${source_dir}/gloo" DESTINATION "${root}/include" FILES_MATCHING PATTERN "*.h")
    # The configuration LibTorch's own Gloo is built with, as far as its headers show it:
    # the TCP transport, no CUDA, MPI, ibverbs or Redis in Gloo itself.
    set(GLOO_VERSION_MAJOR 0)
    set(GLOO_VERSION_MINOR 5)
    set(GLOO_VERSION_PATCH 0)
    set(GLOO_HAVE_TRANSPORT_TCP ON)
    foreach(option GLOO_USE_CUDA GLOO_USE_NCCL GLOO_USE_ROCM GLOO_USE_RCCL GLOO_USE_REDIS
                   GLOO_USE_IBVERBS GLOO_USE_MPI GLOO_USE_AVX GLOO_USE_LIBUV
                   GLOO_HAVE_TRANSPORT_TCP_TLS GLOO_HAVE_TRANSPORT_IBVERBS
                   GLOO_HAVE_TRANSPORT_UV GLOO_USE_TORCH_DTYPES)
      set(${option} OFF)
    endforeach()
    configure_file("${source_dir}/gloo/config.h.in" "${root}/include/gloo/config.h" @ONLY)
    file(REMOVE_RECURSE "${root}/source")
    file(WRITE "${stamp}" "")
  endif()
  set(${out_include_dir} "${root}/include" PARENT_SCOPE)
endfunction()
