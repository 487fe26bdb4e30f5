# Third-party dependencies, all from Debian's archive (see scripts/install-deps.sh).
find_package(Torch REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS filesystem)
find_package(PNG REQUIRED)
# libturbojpeg ships no CMake package on Debian; pkg-config finds it.
find_package(PkgConfig REQUIRED)
pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET libturbojpeg)
find_package(Threads REQUIRED)

# Debian's TorchConfig puts its flags in TORCH_CXX_FLAGS (for example
# -D_GLIBCXX_USE_CXX11_ABI=0 in some LibTorch builds); every target must agree on them.
if(TORCH_CXX_FLAGS)
  set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")
endif()

# yaml-cpp's exported target name changed between releases.
if(TARGET yaml-cpp::yaml-cpp)
  set(OMNI_YAML_TARGET yaml-cpp::yaml-cpp)
else()
  set(OMNI_YAML_TARGET yaml-cpp)
endif()
