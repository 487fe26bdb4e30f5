# Third-party dependencies.
#
# LibTorch is found where it is installed: Debian's libtorch-dev, the LibTorch zip, or pip's
# torch (CMAKE_PREFIX_PATH = the torch package folder and its share/cmake, see
# docs/building.md). Every other library is taken from the system when found, else built from
# its pinned source (cmake/dependency-sources.txt, cmake/OmniDependencySources.cmake), so a
# machine with a compiler, CMake, Ninja and a LibTorch builds omnihost without root or apt.
set(OMNI_DEPENDENCIES "auto" CACHE STRING
    "auto: system libraries when found, else pinned sources; source: pinned sources only (binaries that need no system library but LibTorch's); system: system libraries only")
set_property(CACHE OMNI_DEPENDENCIES PROPERTY STRINGS auto source system)
if(NOT OMNI_DEPENDENCIES MATCHES "^(auto|source|system)$")
  message(FATAL_ERROR "OMNI_DEPENDENCIES is '${OMNI_DEPENDENCIES}'; expected auto, source or system")
endif()
include(OmniDependencySources)
set(OMNI_DEPENDENCY_REPORT "")

find_package(Torch REQUIRED)
# With only torch's share/cmake on CMAKE_PREFIX_PATH, TorchConfig's find_library searches the
# system folders before its own lib/ and can pair pip's headers with another LibTorch's
# libraries (Debian's libtorch.so): refuse that mix.
get_filename_component(omni_torch_lib_dir "${TORCH_LIBRARY}" DIRECTORY)
get_filename_component(omni_torch_lib_dir "${omni_torch_lib_dir}" REALPATH)
get_filename_component(omni_torch_own_lib_dir "${TORCH_INSTALL_PREFIX}/lib" REALPATH)
if(NOT omni_torch_lib_dir STREQUAL omni_torch_own_lib_dir AND EXISTS "${omni_torch_own_lib_dir}/libtorch.so")
  message(FATAL_ERROR "Torch's CMake files are from ${TORCH_INSTALL_PREFIX} but libtorch.so "
                      "was found in ${omni_torch_lib_dir}. Put the torch folder itself on "
                      "CMAKE_PREFIX_PATH as well: -DCMAKE_PREFIX_PATH=\"<torch>;<torch>/share/cmake\" "
                      "(scripts/torch-prefix-path.sh prints it), and use a fresh build folder.")
endif()
# Debian's TorchConfig puts its flags in TORCH_CXX_FLAGS (for example
# -D_GLIBCXX_USE_CXX11_ABI=0 in some LibTorch builds); every target must agree on them.
if(TORCH_CXX_FLAGS)
  set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")
endif()
find_package(Threads REQUIRED)
# pip's libtorch.so exports copies of libstdc++ functions from a newer GCC's static support
# library (std::filesystem::remove_all among them), which crash when called from code built
# here. A program's symbols bind to the first library in its load order that defines them, so
# every binary lists libstdc++ before LibTorch.
add_link_options("LINKER:--push-state,--no-as-needed" -lstdc++ "LINKER:--pop-state")

# fmt: pip's torch and the LibTorch zip carry fmt's headers (fmt 12 in torch 2.11) in their
# include folder, where they would shadow another fmt's headers and no longer match its
# library. LibTorch's public headers include none of them, so with such a LibTorch fmt is built
# from its pinned source and its headers are put ahead of LibTorch's. (Using LibTorch's fmt
# header-only instead costs ~3 s of compile time in every translation unit.)
set(OMNI_TORCH_SHIPS_FMT OFF)
foreach(dir IN LISTS TORCH_INCLUDE_DIRS)
  list(FIND CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES "${dir}" implicit)
  if(EXISTS "${dir}/fmt/format.h" AND implicit EQUAL -1 AND NOT dir STREQUAL "/usr/include")
    set(OMNI_TORCH_SHIPS_FMT ON)
  endif()
endforeach()
if(OMNI_TORCH_SHIPS_FMT)
  if(OMNI_DEPENDENCIES STREQUAL "system")
    message(FATAL_ERROR "This LibTorch ships fmt headers that would shadow the system's fmt; "
                        "configure with -DOMNI_DEPENDENCIES=auto or source")
  endif()
  set(omni_dependencies_chosen "${OMNI_DEPENDENCIES}")
  set(OMNI_DEPENDENCIES source)
  omni_dependency(fmt fmt_FOUND "find_package(fmt CONFIG QUIET)"
    CMAKE_ARGS -DFMT_TEST=OFF -DFMT_DOC=OFF -DFMT_INSTALL=ON)
  set(OMNI_DEPENDENCIES "${omni_dependencies_chosen}")
  include_directories(BEFORE SYSTEM "${OMNI_DEPS_PREFIX}/include")
else()
  omni_dependency(fmt fmt_FOUND "find_package(fmt CONFIG QUIET)"
    CMAKE_ARGS -DFMT_TEST=OFF -DFMT_DOC=OFF -DFMT_INSTALL=ON)
endif()

omni_dependency(yaml-cpp yaml-cpp_FOUND "find_package(yaml-cpp CONFIG QUIET)"
  CMAKE_ARGS -DYAML_CPP_BUILD_TESTS=OFF -DYAML_CPP_BUILD_TOOLS=OFF -DYAML_CPP_BUILD_CONTRIB=OFF
             -DYAML_BUILD_SHARED_LIBS=ON)
# yaml-cpp's exported target name changed between releases.
if(TARGET yaml-cpp::yaml-cpp)
  set(OMNI_YAML_TARGET yaml-cpp::yaml-cpp)
else()
  set(OMNI_YAML_TARGET yaml-cpp)
endif()

omni_dependency(nlohmann-json nlohmann_json_FOUND "find_package(nlohmann_json 3 CONFIG QUIET)"
  CMAKE_ARGS -DJSON_BuildTests=OFF -DJSON_Install=ON)

# Debian's zlib archive drops win32/, whose resource file zlib's CMakeLists names anyway.
omni_dependency(zlib ZLIB_FOUND "find_package(ZLIB QUIET)" EMPTY_FILES win32/zlib1.rc)
omni_dependency(libpng PNG_FOUND "find_package(PNG QUIET)"
  CMAKE_ARGS -DPNG_SHARED=ON -DPNG_STATIC=OFF -DPNG_TESTS=OFF -DPNG_EXECUTABLES=OFF)

# libjpeg-turbo's TurboJPEG API. Its SIMD code needs nasm; without it the build falls back to
# plain C (slower JPEG decoding only).
omni_dependency(libjpeg-turbo TURBOJPEG_FOUND
  "omni_find_header_and_library(TURBOJPEG turbojpeg.h turbojpeg)"
  CMAKE_ARGS -DENABLE_SHARED=ON -DENABLE_STATIC=OFF -DWITH_TURBOJPEG=ON -DWITH_JAVA=OFF
             -DREQUIRE_SIMD=OFF)
omni_imported_library(omni::turbojpeg TURBOJPEG)

# utf8proc: Unicode categories, NFC and case mapping for the tokenizers.
omni_dependency(utf8proc UTF8PROC_FOUND "omni_find_header_and_library(UTF8PROC utf8proc.h utf8proc)"
  CMAKE_ARGS -DUTF8PROC_INSTALL=ON -DUTF8PROC_ENABLE_TESTING=OFF)
omni_imported_library(omni::utf8proc UTF8PROC)

# sentencepiece (T5's tokenizer), built static from source: its private protobuf must stay
# hidden inside libomni_sentencepiece (see plugins/flux_kontext/CMakeLists.txt).
# Debian's shared libsentencepiece can only be used through dlopen's RTLD_DEEPBIND, which the
# sanitizers' runtime refuses; a sanitized build therefore always takes the pinned source, whose
# static library the module hides without it.
if(OMNI_SANITIZE)
  set(omni_dependencies_chosen "${OMNI_DEPENDENCIES}")
  set(OMNI_DEPENDENCIES source)
  foreach(cached SENTENCEPIECE_INCLUDE_DIR SENTENCEPIECE_LIBRARY SENTENCEPIECE_TRAIN_LIBRARY)
    unset(${cached} CACHE)
  endforeach()
endif()
omni_dependency(sentencepiece SENTENCEPIECE_FOUND [=[
  find_path(SENTENCEPIECE_INCLUDE_DIR sentencepiece_processor.h)
  find_library(SENTENCEPIECE_LIBRARY NAMES sentencepiece)
  find_library(SENTENCEPIECE_TRAIN_LIBRARY NAMES sentencepiece_train)
  if(SENTENCEPIECE_INCLUDE_DIR AND SENTENCEPIECE_LIBRARY AND SENTENCEPIECE_TRAIN_LIBRARY)
    set(SENTENCEPIECE_FOUND TRUE)
  endif()
]=] STATIC CMAKE_ARGS -DSPM_ENABLE_SHARED=OFF -DSPM_USE_BUILTIN_PROTOBUF=ON
                      -DSPM_ENABLE_TCMALLOC=OFF)
if(OMNI_SANITIZE)
  set(OMNI_DEPENDENCIES "${omni_dependencies_chosen}")
endif()
add_library(omni::sentencepiece INTERFACE IMPORTED)
set_target_properties(omni::sentencepiece PROPERTIES
  INTERFACE_LINK_LIBRARIES "${SENTENCEPIECE_TRAIN_LIBRARY};${SENTENCEPIECE_LIBRARY};Threads::Threads"
  INTERFACE_INCLUDE_DIRECTORIES "${SENTENCEPIECE_INCLUDE_DIR}")

omni_dependency(cxxopts CXXOPTS_INCLUDE_DIR "find_path(CXXOPTS_INCLUDE_DIR cxxopts.hpp)"
  FROM_DEBIAN_PACKAGE)

if(OMNI_BUILD_TESTS)
  omni_dependency(doctest DOCTEST_INCLUDE_DIR "find_path(DOCTEST_INCLUDE_DIR doctest/doctest.h)"
    CMAKE_ARGS -DDOCTEST_WITH_TESTS=OFF -DDOCTEST_WITH_MAIN_IN_STATIC_LIB=OFF)
endif()

list(JOIN OMNI_DEPENDENCY_REPORT ", " omni_report)
message(STATUS "omnihost dependencies (OMNI_DEPENDENCIES=${OMNI_DEPENDENCIES}): ${omni_report}")

# What was built from source is installed with omnihost: its shared libraries beside ours
# (found through the RPATH $ORIGIN/../lib), its headers and CMake files for plugins built
# against the installed SDK.
if(OMNI_DEPS_BUILT_FROM_SOURCE)
  install(DIRECTORY "${OMNI_DEPS_PREFIX}/" DESTINATION "."
          USE_SOURCE_PERMISSIONS PATTERN ".stamps" EXCLUDE)
endif()
